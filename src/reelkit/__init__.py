"""reelkit: machine learning for streaming platforms.

Recommendations (:mod:`reelkit.recommend`), evaluation (:mod:`reelkit.evaluate`) and data
(:mod:`reelkit.data`). Nothing is loaded, configured or downloaded at import time.
"""

from reelkit.errors import ReelkitError, UserInputError

__version__ = "0.1.0"
__all__ = ["ReelkitError", "UserInputError", "__version__"]
