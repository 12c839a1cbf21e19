"""Exceptions raised by dgkeras."""


class DataError(ValueError):
    """Input data or a schema that dgkeras cannot use.

    The message names the column, the series and the problem, so that the
    offending value can be found in the user's own data.
    """



class TrainingDivergedError(RuntimeError):
    """Training produced a NaN or infinite loss or weight.

    The estimator keeps the weights and history of the last epoch that
    finished with finite values (when there is one), so it can still sample.

    Parameters
    ----------
    message : str
        What went wrong and what to try.
    epoch : int
        Number (from 1) of the epoch that diverged.
    """

    def __init__(self, message: str, epoch: int) -> None:
        super().__init__(message)
        self.epoch = epoch
