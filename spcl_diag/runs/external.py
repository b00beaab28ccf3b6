"""Results that another codebase produced: a table with one row per seed and arm.

``compare`` and ``spcl-diag compare`` accept such a table instead of a folder of runs, e.g.

.. code-block:: text

    dataset,method,seed,wf1
    iemocap,baseline,0,0.641
    iemocap,spcl,0,0.652
    ...

compared with ``spcl-diag compare results.csv --metric wf1 --baseline baseline
--arm-column method --by dataset``. The columns are the caller's: the grouping columns
(``--by``), the arm column, the pairing column (``seed`` unless ``--pair-on`` says otherwise)
and the metric.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from spcl_diag.errors import DataFormatError


def read_results(path: str | Path) -> pd.DataFrame:
    """Read a results table from a ``.csv`` (comma) or ``.tsv`` (tab) file.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    DataFormatError
        When it is empty or not a table, naming the file.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "results.csv")
    >>> _ = open(path, "w").write("method,seed,wf1\\nbaseline,0,0.61\\nspcl,0,0.63\\n")
    >>> read_results(path).columns.tolist()
    ['method', 'seed', 'wf1']
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such results file.")
    try:
        frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataFormatError(f"{path}: not a results table ({type(err).__name__}: {err}).") from None
    if frame.empty:
        raise DataFormatError(f"{path}: the results table has no rows; expected one row per seed and arm.")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame
