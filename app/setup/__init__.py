"""How a network is set up to train, one project section each: optimizer groups, schedulers,
``nn.init`` rules, parameter selectors, train / eval modes, devices and the training section.
Each parses its JSON (naming the path at fault) and applies it to an ``nn.Module``. Also the
memory a training step with such a setup needs, and whether it fits a device.

May import ``app.network`` and ``app.data``; never the project, training or anything above.
"""
