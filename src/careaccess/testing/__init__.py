"""Testing tools for careaccess users and backend authors.

- :mod:`careaccess.testing.conformance`: the suite every Store must pass.
- :mod:`careaccess.testing.strategies`: hypothesis strategies for the domain.
"""
