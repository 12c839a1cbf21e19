"""Chunked and streamed sampling equal one-shot sampling; output files are safe."""

import io

import pandas as pd
import pytest

from dgkeras import DataError
from dgkeras.sampling import Sampler


def test_chunks_concatenate_to_the_same_sample(fitted_attributes):
    synth, _, _ = fitted_attributes
    whole = synth.sample(2500, random_state=5)
    chunks = list(synth.iter_samples(2500, chunk_size=700, random_state=5))
    assert [c["id"].nunique() for c in chunks] == [700, 700, 700, 400]
    pd.testing.assert_frame_equal(pd.concat(chunks, ignore_index=True), whole)


@pytest.mark.parametrize("batch", [1000, 3000])
def test_seeded_sample_does_not_depend_on_the_generator_batch(fitted_attributes, batch):
    """Noise is drawn per noise block, so the generator's batch changes speed, not series."""
    synth, _, _ = fitted_attributes
    expected = synth.sample(3500, random_state=4)
    sampler = Sampler(synth.encoder_, synth.model_, batch=batch)
    request = sampler.request(3500, None, None, 4)
    pd.testing.assert_frame_equal(sampler.frame(request), expected)
    blocks = list(sampler.blocks(request))
    assert [len(b[2]) for b in blocks] == [batch] * (3500 // batch) + [3500 % batch]


def test_chunks_with_given_attributes_keep_order_and_ids(fitted_attributes):
    synth, _, _ = fitted_attributes
    given = pd.DataFrame({"region": ["n", "s", "e", "n", "s"],
                          "premium": [True, False, True, True, False],
                          "size": [0, 10, 20, 30, 40]})
    chunks = list(synth.iter_samples(chunk_size=2, attributes=given, random_state=1))
    out = pd.concat(chunks, ignore_index=True)
    pd.testing.assert_frame_equal(out, synth.sample(attributes=given, random_state=1))
    per_series = out.groupby("id", sort=False)["size"].first().tolist()
    assert per_series == [0, 10, 20, 30, 40]


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".parquet"])
def test_sample_to_file_matches_sample(fitted_mixed, tmp_path, suffix):
    synth, df, _ = fitted_mixed
    path = synth.sample_to(tmp_path / f"out{suffix}", 1200, chunk_size=500, random_state=2)
    expected = synth.sample(1200, random_state=2)
    if suffix == ".parquet":
        back = pd.read_parquet(path)
        # Parquet stores an object column of strings as strings; pandas reads them back
        # with its string dtype.
        pd.testing.assert_frame_equal(back, expected.astype({"code": back["code"].dtype}))
        assert (back.dtypes.drop("code") == expected.dtypes.drop("code")).all()
    else:
        back = pd.read_csv(path)
        assert len(back) == len(expected) and back["sid"].nunique() == 1200
        pd.testing.assert_frame_equal(back, pd.read_csv(io.StringIO(expected.to_csv(index=False))))
    assert [p.name for p in tmp_path.iterdir()] == [f"out{suffix}"]


def test_sample_to_refuses_to_overwrite_and_bad_suffix(fitted_mixed, tmp_path):
    synth, _, _ = fitted_mixed
    target = tmp_path / "input.csv"
    target.write_text("precious")
    with pytest.raises(DataError, match="exists; pass overwrite=True"):
        synth.sample_to(target, 3)
    assert target.read_text() == "precious"
    synth.sample_to(target, 3, overwrite=True, random_state=0)
    assert pd.read_csv(target)["sid"].nunique() == 3
    with pytest.raises(DataError, match="choose a .csv, .csv.gz or .parquet"):
        synth.sample_to(tmp_path / "out.xlsx", 3)
    with pytest.raises(DataError, match="chunk_size must be a positive integer"):
        next(synth.iter_samples(3, chunk_size=0))


def test_sample_to_shows_progress_over_series(fitted_mixed, tmp_path, capsys):
    synth, _, _ = fitted_mixed
    synth.sample_to(tmp_path / "out.csv", 1000, chunk_size=100, random_state=0, verbose=1)
    lines = [line for line in capsys.readouterr().err.splitlines()
             if line.startswith("series ")]
    # A line per 10% of the series: after every chunk of 100 here.
    assert [line.split()[1] for line in lines] == [f"{k}/1000" for k in range(100, 1001, 100)]
    synth.sample_to(tmp_path / "quiet.csv", 50, random_state=0)
    assert capsys.readouterr().err == ""
