"""Real tables for ``bench_tabular.py``, read offline, each prepared as a practitioner would.

Every loader returns ``(name, X, y, task)``: ``X`` a pandas DataFrame whose
numeric columns are float64 (NaN where a value is missing) and whose nominal
columns are pandas ``category`` (NaN allowed), ``y`` a Series (class labels,
or floats for regression), ``task`` "classification" or "regression".

Where the tables come from:

- mlbench and kernlab (R packages) as Debian ships them, unpacked without R,
  read with the ``rdata`` package (a benchmark-only dependency: ``pip install
  rdata``)::

      apt-get download r-cran-mlbench r-cran-kernlab
      for d in r-cran-*.deb; do dpkg-deb -x "$d" rdata-x; done

  then point ``SKSCRATCH_RDATA`` at ``rdata-x/usr/lib/R/site-library`` (the
  folder holding ``mlbench/data/*.rda`` and ``kernlab/data/*.rda``); default
  ``/work/data/rdata-x/usr/lib/R/site-library``;
- scikit-learn's bundled digits, breast_cancer and diabetes (no download).

How the columns are read (R factors arrive as ``category``): ratings and
numeric-valued factors become numbers (BreastCancer's 1-10 scores, DNA's and
Ionosphere's 0/1 indicators, Servo's gains, BostonHousing's ``chas``);
true nominal factors stay ``category`` (Vowel's speaker, Servo's motor and
screw, Ozone's day of week); ID columns and columns constant over the whole
table are dropped. :data:`QUICK` is a suite of bundled data only, small
enough for CI.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

RDATA_ENV = "SKSCRATCH_RDATA"
DEFAULT_RDATA = "/work/data/rdata-x/usr/lib/R/site-library"
HOW_TO_GET = (
    "The mlbench / kernlab tables are read from Debian's R packages, unpacked without R:\n"
    "    apt-get download r-cran-mlbench r-cran-kernlab\n"
    '    for d in r-cran-*.deb; do dpkg-deb -x "$d" rdata-x; done\n'
    "    pip install rdata\n"
    f"then set {RDATA_ENV}=.../rdata-x/usr/lib/R/site-library (default {DEFAULT_RDATA})."
)


def rdata_dir():
    """The R site-library folder holding ``mlbench/`` and ``kernlab/`` (``SKSCRATCH_RDATA`` or the default)."""
    return Path(os.environ.get(RDATA_ENV) or DEFAULT_RDATA)


def read_r_table(package, name):
    """The data frame ``name`` of R package ``package`` (``<dir>/<package>/data/<name>.rda``)."""
    path = rdata_dir() / package / "data" / f"{name}.rda"
    if not path.exists():
        raise FileNotFoundError(f"{path} not found.\n{HOW_TO_GET}")
    try:
        import rdata
    except ImportError as error:
        raise ImportError(f"reading {path} needs the 'rdata' package.\n{HOW_TO_GET}") from error
    with warnings.catch_warnings():  # R attributes rdata does not know (e.g. srcref)
        warnings.simplefilter("ignore")
        frame = rdata.read_rda(str(path))[name]
    return frame.reset_index(drop=True)


def factor_to_number(column):
    """A factor whose levels are numbers ("0"/"1", "1".."10") as float64, NaN kept."""
    return pd.to_numeric(column.astype("string"), errors="raise").astype("float64")


def tidy(X):
    """Drop constant columns; object/string columns to ``category``; other non-category columns to float64.

    Column names become plain ``str``: rdata's are ``numpy.str_``, which
    scikit-learn's column indexing refuses (pytabkit's ColumnTransformer fails).
    """
    X = X.loc[:, [c for c in X.columns if X[c].nunique(dropna=False) > 1]].copy()
    X.columns = [str(c) for c in X.columns]
    for column in X.columns:
        dtype = X[column].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            X[column] = X[column].cat.remove_unused_categories()
        elif dtype == object or pd.api.types.is_string_dtype(dtype):
            X[column] = X[column].astype("category")
        else:
            X[column] = X[column].astype("float64")
    return X


def split_target(frame, target):
    """(X, y) with ``y`` the column ``target``: class labels as plain strings, or floats."""
    y = frame[target]
    y = y.astype(str) if isinstance(y.dtype, pd.CategoricalDtype) else y.astype("float64")
    return frame.drop(columns=[target]), y.rename(str(target))


def r_classification(package, name, target, numeric_factors=(), drop=()):
    """A classification table of an R package: ``numeric_factors`` become numbers, ``drop`` goes."""
    frame = read_r_table(package, name).drop(columns=list(drop))
    for column in numeric_factors:
        frame[column] = factor_to_number(frame[column])
    X, y = split_target(frame, target)
    return name, tidy(X), y, "classification"


# ---------------------------------------------------------------- mlbench / kernlab tables


def letter_recognition():
    """20,000 x 16 integer features 0-15 (pixel statistics of a letter's box), 26 classes."""
    return r_classification("mlbench", "LetterRecognition", "lettr")


def shuttle():
    """58,000 x 9 numeric, 7 classes (very unbalanced: 45,586 Rad.Flow down to 10 Bpv.Close)."""
    return r_classification("mlbench", "Shuttle", "Class")


def satellite():
    """6,435 x 36 numeric (4 spectral bands of 3x3 pixels), 6 classes."""
    return r_classification("mlbench", "Satellite", "classes")


def dna():
    """3,186 x 180 binary indicators (3 per nucleotide), 3 classes; the 0/1 factors become numbers."""
    frame = read_r_table("mlbench", "DNA")
    return r_classification("mlbench", "DNA", "Class", numeric_factors=[c for c in frame.columns if c != "Class"])


def vehicle():
    """846 x 18 numeric shape features, 4 classes."""
    return r_classification("mlbench", "Vehicle", "Class")


def vowel():
    """990 x (9 numeric + V1, the speaker: 15 levels of 66 rows each), 11 vowels.

    V1 is kept as a nominal ``category`` (a speaker's number measures nothing);
    with random row splits every speaker is in both parts, so it is fair input.
    """
    return r_classification("mlbench", "Vowel", "Class")


def sonar():
    """208 x 60 numeric (sonar band energies), 2 classes."""
    return r_classification("mlbench", "Sonar", "Class")


def ionosphere():
    """351 x 33: V1 a 0/1 indicator (to a number), V2 constant (dropped), 32 numeric; 2 classes."""
    return r_classification("mlbench", "Ionosphere", "Class", numeric_factors=["V1", "V2"])


def pima_indians_diabetes():
    """768 x 8 numeric, 2 classes: PimaIndiansDiabetes2, where the impossible zeros are NA (652 NaN in all)."""
    return r_classification("mlbench", "PimaIndiansDiabetes2", "diabetes")


def breast_cancer_wisconsin():
    """699 x 9 scores 1-10 (to numbers; Bare.nuclei has 16 NaN), 2 classes; the Id column is dropped."""
    frame = read_r_table("mlbench", "BreastCancer")
    scores = [c for c in frame.columns if c not in ("Id", "Class")]
    return r_classification("mlbench", "BreastCancer", "Class", numeric_factors=scores, drop=["Id"])


def glass():
    """214 x 9 numeric (refractive index, oxides), 6 classes (the smallest has 9 rows)."""
    return r_classification("mlbench", "Glass", "Type")


def spam():
    """kernlab's spam: 4,601 x 57 numeric (word and character frequencies, capital runs), 2 classes."""
    return r_classification("kernlab", "spam", "type")


def musk():
    """kernlab's musk (version 1): 476 x 166 numeric conformation features, 2 classes."""
    return r_classification("kernlab", "musk", "Class")


def boston_housing():
    """506 x 13 (``chas`` 0/1 to a number), target ``medv`` (median value, $1000s).

    mlbench's BostonHousing, the original table; BostonHousing2's corrected
    ``cmedv`` would leak the target, its town and tract are IDs.
    """
    frame = read_r_table("mlbench", "BostonHousing")
    frame["chas"] = factor_to_number(frame["chas"])
    X, y = split_target(frame, "medv")
    return "BostonHousing", tidy(X), y, "regression"


def ozone():
    """361 x 12, target V4 (daily maximum ozone); the 5 rows without it are dropped, NaN features kept.

    V1 (month) and V2 (day of month) stay numbers: the season is an ordered,
    smooth effect; V3 (day of week) is nominal (weekday traffic), a category.
    """
    frame = read_r_table("mlbench", "Ozone")
    frame = frame[frame["V4"].notna()].reset_index(drop=True)
    frame["V1"], frame["V2"] = factor_to_number(frame["V1"]), factor_to_number(frame["V2"])
    X, y = split_target(frame, "V4")
    return "Ozone", tidy(X), y, "regression"


def servo():
    """167 x 4, target Class: Motor and Screw nominal (A-E, categories); Pgain, Vgain gains (numbers).

    mlbench's Class is not UCI's rise time (0.13-7.10) but its rank among the
    51 distinct rise times, 1-51 (rows equal in UCI share a code): a monotone
    transform, kept as it is; RMSEs are in those units.
    """
    frame = read_r_table("mlbench", "Servo")
    frame["Pgain"], frame["Vgain"] = factor_to_number(frame["Pgain"]), factor_to_number(frame["Vgain"])
    X, y = split_target(frame, "Class")
    return "Servo", tidy(X), y, "regression"


# ---------------------------------------------------------------- scikit-learn's bundled tables


def sk_digits(n_rows=None):
    """scikit-learn's digits, 1,797 x 64 pixels 0-16 (the constant ones dropped), 10 classes; ``n_rows``: a subset."""
    from sklearn.datasets import load_digits

    bunch = load_digits(as_frame=True)
    X, y = tidy(bunch.data), bunch.target.astype(str).rename("digit")
    return subset("digits", X, y, "classification", n_rows)


def sk_breast_cancer(n_rows=None):
    """scikit-learn's breast_cancer (Wisconsin diagnostic), 569 x 30 numeric, 2 classes; ``n_rows``: a subset."""
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    y = pd.Series(np.asarray(bunch.target_names)[bunch.target], name="diagnosis")
    return subset("breast_cancer", tidy(bunch.data), y, "classification", n_rows)


def sk_diabetes():
    """scikit-learn's diabetes, 442 x 10, unscaled (age in years, sex 1/2 as a number...), target a progression."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(as_frame=True, scaled=False)
    return "diabetes", tidy(bunch.data), bunch.target.astype("float64").rename("progression"), "regression"


def subset(name, X, y, task, n_rows, seed=0):
    """The table itself, or ``n_rows`` of its rows drawn without replacement (named ``name-n_rows``)."""
    if n_rows is None or n_rows >= len(X):
        return name, X, y, task
    rows = np.sort(np.random.RandomState(seed).choice(len(X), n_rows, replace=False))
    return f"{name}-{n_rows}", X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True), task


def synthetic_mixed():
    """breast_cancer's 10 "mean" columns made messy, 569 rows, 2 classes: for CI.

    Adds an informative ordinal-looking nominal column (``size``: the
    quartile of "worst area", as 4 string levels), a 12-level nominal noise
    column (``batch``: more levels than a one-hot cut of 9, so the embedding
    path runs), and NaN: 10 % of three numeric columns and 5 % of ``size``.
    """
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer(as_frame=True)
    rng = np.random.RandomState(0)
    X = bunch.data.iloc[:, :10].copy()
    X.columns = [c.replace(" ", "_") for c in X.columns]
    size = pd.qcut(bunch.data["worst area"], 4, labels=["small", "medium", "large", "huge"]).astype(str)
    size[rng.rand(len(X)) < 0.05] = np.nan
    X["size"] = pd.Categorical(size, categories=["small", "medium", "large", "huge"])
    X["batch"] = pd.Categorical(rng.choice([f"b{i:02d}" for i in range(12)], len(X)))
    for column in ("mean_radius", "mean_texture", "mean_smoothness"):
        X.loc[rng.rand(len(X)) < 0.10, column] = np.nan
    y = pd.Series(np.asarray(bunch.target_names)[bunch.target], name="diagnosis")
    return "synthetic_mixed", tidy(X), y, "classification"


TABLES = {
    "LetterRecognition": letter_recognition, "Shuttle": shuttle, "Satellite": satellite, "DNA": dna,
    "Vehicle": vehicle, "Vowel": vowel, "Sonar": sonar, "Ionosphere": ionosphere,
    "PimaIndiansDiabetes2": pima_indians_diabetes, "BreastCancer": breast_cancer_wisconsin, "Glass": glass,
    "spam": spam, "musk": musk, "digits": sk_digits, "breast_cancer": sk_breast_cancer,
    "BostonHousing": boston_housing, "Ozone": ozone, "Servo": servo, "diabetes": sk_diabetes,
    # the quick suite: bundled data only
    "breast_cancer-300": lambda: sk_breast_cancer(300), "digits-600": lambda: sk_digits(600),
    "synthetic_mixed": synthetic_mixed,
}  # fmt: skip
FULL = [name for name in TABLES if name not in ("breast_cancer-300", "digits-600", "synthetic_mixed")]
QUICK = ["breast_cancer-300", "digits-600", "diabetes", "synthetic_mixed"]


def load_table(name):
    """``(name, X, y, task)`` of the table called ``name`` (a key of :data:`TABLES`)."""
    if name not in TABLES:
        raise KeyError(f"unknown table {name!r}; known: {', '.join(TABLES)}")
    return TABLES[name]()


def describe(X, y, task):
    """A table in numbers: rows, numeric and categorical columns, NaN cells, and classes or the target's range."""
    categorical = [c for c in X.columns if isinstance(X[c].dtype, pd.CategoricalDtype)]
    levels = {c: len(X[c].cat.categories) for c in categorical}
    info = {"rows": len(X), "numeric": X.shape[1] - len(categorical), "categorical": len(categorical),
            "levels": levels, "nan_cells": int(X.isna().sum().sum()),
            "nan_columns": int(X.isna().any().sum()), "task": task}  # fmt: skip
    if task == "classification":
        counts = y.value_counts()
        info.update(classes=len(counts), smallest_class=int(counts.min()))
    else:
        info.update(target_min=float(y.min()), target_max=float(y.max()), target_std=float(y.std()))
    return info


if __name__ == "__main__":  # python benchmarks/_tabular_data.py: what each table looks like
    for table in TABLES:
        try:
            name, X, y, task = load_table(table)
        except (FileNotFoundError, ImportError) as error:
            print(f"{table}: {str(error).splitlines()[0]}")
            continue
        print(f"{name}: {describe(X, y, task)}")
