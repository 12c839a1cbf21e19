"""Exceptions raised by dgkeras."""


class DataError(ValueError):
    """Input data or a schema that dgkeras cannot use.

    The message names the column, the series and the problem, so that the
    offending value can be found in the user's own data.
    """

