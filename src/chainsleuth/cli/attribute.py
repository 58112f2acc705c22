"""``chainsleuth attribute NAME``: which known or stored incident does this one's laundering resemble?"""

from __future__ import annotations

from typing import Annotated

import typer

from chainsleuth import store
from chainsleuth.attribute.attribution import TraceSettings, attribute
from chainsleuth.cli.common import DbOpt, Format, FormatOpt, handle_errors, out, print_json, table


def register(app: typer.Typer) -> None:
    @app.command("attribute")
    @handle_errors
    def attribute_cmd(
        name: Annotated[str, typer.Argument(help="Incident id (INC-...) or case name.")],
        max_hops: Annotated[int, typer.Option(help="Hops to trace each subject forward.")] = TraceSettings.max_hops,
        model: Annotated[str, typer.Option(help="Taint model for the traces: poison|haircut|fifo.")] = TraceSettings.model,
        library: Annotated[bool, typer.Option(help="Compare with the shipped known-incident library.")] = True,
        top: Annotated[int, typer.Option(help="Candidates shown in text output.")] = 10,
        db: DbOpt = None,
        format: FormatOpt = Format.text,
    ) -> None:
        """Rank known incidents and every other incident/case by fingerprint similarity.

        JSON keys: case, kind, fingerprint{subject, kind, features, provenance, typologies[]}, candidates[]
        {name, kind, title, score, confidence, coverage, agree[] {feature, similarity, weight, reason},
        disagree[], unknown[], sources[]} sorted by score descending, best, confident_match, verdict,
        calibration{threshold, min_coverage, fitted, ...}.
        """
        con = store.connect(db)
        res = attribute(con, name, settings=TraceSettings(model=model, max_hops=max_hops), include_library=library)
        if format == Format.json:
            print_json(res)
            return
        fp = res["fingerprint"]["features"]
        out.print(f"[bold]{res['case']}[/] ({res['kind']}): {' > '.join(fp['typology_sequence']) or 'no typology'}")
        rows = [
            [c["name"], c["kind"], f"{c['score']:.2f}",
             "" if c["confidence"] is None else f"{c['confidence']:.0%}", f"{c['coverage']:.0%}",
             ", ".join(a["feature"] for a in c["agree"]), ", ".join(d["feature"] for d in c["disagree"])]
            for c in res["candidates"][:top]
        ]
        out.print(table("candidates", ["name", "kind", "score", "P(same)", "coverage", "agree", "disagree"], rows))
        out.print(res["verdict"])
