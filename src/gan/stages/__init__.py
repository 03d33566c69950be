"""One module per DVC stage (and `score`, the one command that is not a stage).

The DVC stage `X` runs `stages/X.py`, which calls `gan.stages.X.run`: the same word at every
level. Each `run` reads params, calls the domain modules and writes the stage's outputs.
"""
