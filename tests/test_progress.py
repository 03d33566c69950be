import logging

from gan.progress import ESTIMATE_AFTER, Progress, duration


def test_without_a_terminal_one_log_line_per_epoch(caplog):
    with caplog.at_level(logging.INFO, logger="gan.progress"), \
            Progress("train dcgan", total=3, initial=1, steps=4) as progress:
        assert not progress.interactive  # pytest captures stderr: not a terminal
        for epoch in (2, 3):
            for _ in range(4):  # fewer steps than it takes to estimate the run's length
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


def test_the_run_length_is_estimated_after_the_first_steps(caplog):
    with caplog.at_level(logging.INFO, logger="gan.progress"), \
            Progress("train dcgan", total=20, initial=4, steps=400) as progress:
        for _ in range(ESTIMATE_AFTER + 5):
            progress.step()
    estimates = [r.getMessage() for r in caplog.records if "about" in r.getMessage()]
    assert len(estimates) == 1
    assert estimates[0].startswith("train dcgan: about ") and "for 16 epochs" in estimates[0]


def test_durations_read_naturally():
    assert [duration(s) for s in (5, 600, 9000)] == ["5 s", "10 min", "2.5 h"]
