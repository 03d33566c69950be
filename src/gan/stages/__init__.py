"""One module per DVC stage, and the two commands that are not stages (`score`, `queue`).

The DVC stage `X` runs `stages/X.py`, which calls `gan.stages.X.run`: the same word at every
level. Each `run` reads params, calls the domain modules and writes the stage's outputs.
"""
