"""Sequential multi-env curricula: targets, early stopping, resume and publication artifacts.

The stopping rule itself (target / patience / cap) lives in the controller stage
(worldmodels/train_controller.py), fed through `ctx.extra`; the curriculum chooses the
values per env and reads back why each env stopped.
"""
