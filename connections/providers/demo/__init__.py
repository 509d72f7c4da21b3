"""The Demo network, a platform built in: its provider (provider.py), its own storage of what a
real platform would hold (models.py, a small Django app labelled ``demo``: apps.py, admin.py,
migrations/) and its settings (conf.py). config/settings.py installs the app and loads the
settings because this package has them; nothing outside it names the Demo network."""
