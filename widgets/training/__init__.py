"""Training in the window: the training form and panel, the controller that drives a run off the
GUI thread, the live plots, the activation cards, the decision boundary and the data preview.

May import ``app``, the session and the root helpers of ``widgets``; not the other view packages.
"""
