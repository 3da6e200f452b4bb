"""PPO (Schulman et al. 2017): the model-free baseline, and the learner of self-play.

core.py holds the math (GAE, clipped surrogate, value loss); rollout.py the storage and
collection; envs.py the one function that builds the vector env; train.py the loop and
its operations (checkpoints, resume, perf monitor, webhook); evaluate.py `dreamlab eval`.
"""
