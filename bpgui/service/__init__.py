"""The compute service seen from the window: engine processes, their frames, jobs and the training
controller."""
