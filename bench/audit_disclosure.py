"""Disclosure audit: what an attacker recovers from a release by differencing.

    python bench/audit_disclosure.py [--release releases/demo-dong-thap]

Builds the demo release (or reads the one given) and, for the same forms, a copy with nothing
withheld (threshold 1) as the truth; then tries every differencing attack of
sipas_data/disclosure.py on the published table: the groups of a breakdown, the children of a
unit, the services of a unit, a composite and its parts, and a restated unit and the old units it
was formed from (the official crosswalk). Prints how many withheld cells each attack claims and
how many of those claims are true (a recovered cell), with how many of those hold one answer.
With --release, the truth is rebuilt only for the demo release (other releases' forms are not
at hand): only the claims are printed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geo.registry import crosswalk
from sipas_data.build import build_release
from sipas_data.demo import DEMO_ID, build_demo, generate_forms
from sipas_data.disclosure import (composite_parts, differencing_claims, formed_from_claims,
                                   parts_claims, recovered)
from sipas_data.release import INDICES


def crosswalk_mapping() -> pd.DataFrame:
    cw = crosswalk()
    communes = cw[["old_commune_code", "new_commune_code"]].set_axis(["old", "new"], axis=1).assign(level="commune")
    provinces = (cw[["old_province_code", "new_province_code"]].drop_duplicates()
                 .set_axis(["old", "new"], axis=1).assign(level="province"))
    return pd.concat([communes, provinces], ignore_index=True)


def claims_on(indices: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([differencing_claims(indices),
                      parts_claims(indices, composite_parts(indices["scheme"].dropna().unique())),
                      formed_from_claims(indices, crosswalk_mapping())], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--release", help="a release folder to audit (default: the demo release, built afresh)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sipas-audit-") as tmp:
        truth = None
        if args.release:
            folder = Path(args.release)
        else:
            folder = build_demo(Path(tmp) / "published")
        if folder.name == DEMO_ID:
            truth_folder = build_release(generate_forms(), Path(tmp) / "truth" / "all-cells", title="truth",
                                         publisher="", inputs=[], counts={}, threshold=1)
            truth = pd.read_parquet(truth_folder / INDICES)
        indices = pd.read_parquet(folder / INDICES)
        start = time.perf_counter()
        claims = claims_on(indices)
        seconds = time.perf_counter() - start
        withheld = int(indices["suppressed"].fillna(False).astype(bool).sum())
        print(f"release {folder.name}: {len(indices):,} cells, {withheld:,} withheld")
        print(f"attacks tried in {seconds:.1f} s")
        found = recovered(claims, truth) if truth is not None else None
        for attack in ("breakdown", "place", "service", "parts", "formed_from"):
            line = f"  {attack:<12} {int((claims['attack'] == attack).sum()):>8,} withheld cells claimed"
            if found is not None:
                mine = found[found["attack"] == attack]
                line += f", {len(mine):>8,} of them true ({int((mine['true_n'] == 1).sum()):,} with n = 1)"
            print(line)
        if found is not None:
            cell = ["year", "scheme", "level", "unit_code", "service", "breakdown", "group", "indicator", "basis"]
            print(f"recovered: {found[cell].drop_duplicates().shape[0]:,} withheld cells")


if __name__ == "__main__":
    main()
