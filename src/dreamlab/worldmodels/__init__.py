"""World Models (Ha & Schmidhuber 2018): one module per stage, wired by pipeline.py."""
