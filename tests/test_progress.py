import logging

from gan.progress import Progress


def test_without_a_terminal_one_log_line_per_epoch(caplog):
    with caplog.at_level(logging.INFO, logger="gan.progress"), \
            Progress("train dcgan", total=3, initial=1, steps=5) as progress:
        assert not progress.interactive  # pytest captures stderr: not a terminal
        for epoch in (2, 3):
            for _ in range(5):
                progress.step()
            progress.advance(epoch, {"g_loss": 0.5, "d_loss_real": 0.25})
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["train dcgan epoch 2/3 g_loss=0.5 d_loss_real=0.25",
                     "train dcgan epoch 3/3 g_loss=0.5 d_loss_real=0.25"]


def test_quiet_shows_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO), Progress("evaluate x", 2, unit="snapshot",
                                                 quiet=True) as progress:
        progress.advance(1, {"fid_snapshot": 3.0})
    assert not caplog.records and capsys.readouterr().err == ""
