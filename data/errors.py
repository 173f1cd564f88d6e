"""The one exception type of the data package."""


class DataError(Exception):
    """A problem with the data that the user can fix.

    Raised for a missing file that cannot be downloaded, a corrupt or malformed
    file, labels that do not fit the experiment, an unknown dataset name or a bad
    noise setting. The message is one line that says what is wrong and what to do;
    the scripts print it and exit with status 2.
    """
