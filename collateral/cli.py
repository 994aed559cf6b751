"""``assetwatch registry|audit|provenance``: the bank's side of the data from the shell."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click

from assetwatch.cli import settings_of
from collateral import audit as audit_mod
from collateral import registry as reg
from collateral.canonical import canonical_json
from collateral.document import load_assets_csv, load_json
from collateral.errors import CollateralError, RegistryError
from collateral.model import RegistryDocument
from telemetry.db import connection
from telemetry.errors import TelemetryError


def _fail(exc: Exception, as_json: bool) -> None:
    if as_json:
        problems = [{"where": p.where, "reason": p.reason} for p in getattr(exc, "problems", ())]
        click.echo(
            json.dumps(
                {"ok": False, "error": str(exc).splitlines()[0], "problems": problems},
                ensure_ascii=False,
            )
        )
        sys.exit(1)
    raise click.ClickException(str(exc)) from exc


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from exc


@click.group()
def registry() -> None:
    """Import, export and inspect the collateral registry (docs/registry.md)."""


@registry.command("import")
@click.argument("file")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="FILE is an assets CSV (default: guessed from the .csv extension).",
)
@click.option("--by", "actor", default="import", show_default=True, help="Who makes the change.")
@click.option(
    "--allow-conflicts",
    is_flag=True,
    help="Accept double pledges/bindings as flagged conflicts instead of refusing.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_(
    ctx: click.Context, file: str, as_csv: bool, actor: str, allow_conflicts: bool, as_json: bool
) -> None:
    """Apply a registry file (JSON) or an assets CSV; a file with any problem applies nothing."""
    text = _read(file)
    try:
        if as_csv or file.lower().endswith(".csv"):
            doc = RegistryDocument(assets=load_assets_csv(text))
        else:
            doc = load_json(text)
        with connection(settings_of(ctx)) as conn:
            result = reg.import_document(conn, doc, actor=actor, allow_conflicts=allow_conflicts)
            conn.commit()
    except (CollateralError, TelemetryError) as exc:
        _fail(exc, as_json)
        return
    if as_json:
        click.echo(canonical_json({"ok": True, **result.as_dict()}))
        return
    for section in result.inserted:
        click.echo(
            f"{section}: {result.inserted.get(section, 0)} new, "
            f"{result.updated.get(section, 0)} updated, "
            f"{result.closed.get(section, 0)} closed, "
            f"{result.unchanged.get(section, 0)} unchanged"
        )
    for c in result.flagged:
        click.echo(f"FLAGGED double pledge: {c.detail}")
    click.echo(f"audit head {result.audit_head}")


@registry.command("export")
@click.option("-o", "--output", default="-", help="Write to this file (default: stdout).")
@click.option("--with-secrets", is_flag=True, help="Include terminal credential hashes.")
@click.pass_context
def export(ctx: click.Context, output: str, with_secrets: bool) -> None:
    """Write the whole registry as a registry file (JSON, docs/registry.md)."""
    try:
        with connection(settings_of(ctx)) as conn:
            doc = reg.export_document(conn, with_secrets=with_secrets)
    except (CollateralError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    text = reg.dumps(doc) + "\n"
    if output == "-":
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text, encoding="utf-8")


@registry.command("conflicts")
@click.option("--all", "everything", is_flag=True, help="Include past (no longer active) ones.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.pass_context
def conflicts(ctx: click.Context, everything: bool, as_json: bool) -> None:
    """List double pledges and double bindings (in force now unless --all)."""
    try:
        with connection(settings_of(ctx)) as conn:
            found = reg.list_conflicts(conn, current=not everything)
    except (CollateralError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(canonical_json([c.as_dict() for c in found]))
        return
    for c in found:
        click.echo(f"{c.kind}: {c.detail}")
    click.echo(f"{len(found)} conflict(s)")


@registry.command("validate")
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def validate(file: str, as_json: bool) -> None:
    """Check a registry file or assets CSV without touching the database."""
    text = _read(file)
    try:
        if file.lower().endswith(".csv"):
            load_assets_csv(text)
        else:
            load_json(text)
    except RegistryError as exc:
        _fail(exc, as_json)
        return
    click.echo(json.dumps({"ok": True}) if as_json else "valid")


@click.group()
def audit() -> None:
    """The tamper-evident audit chain of registry, zone and alert changes."""


@audit.command("verify")
@click.option(
    "--expect-head",
    default=None,
    help="Head hash kept outside the database; a rewritten chain then shows too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify(ctx: click.Context, expect_head: str | None, as_json: bool) -> None:
    """Re-derive the hash chain; report entries edited, inserted or removed (exit 1 if any)."""
    try:
        with connection(settings_of(ctx)) as conn:
            report = audit_mod.verify(conn, expect_head=expect_head)
    except (CollateralError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.as_dict()))
    else:
        click.echo(f"{report.entries} entries, head seq {report.head_seq} hash {report.head_hash}")
        for f in report.findings:
            click.echo(f"{f.kind.upper()} at seq {f.seq}: {f.detail}")
        click.echo("chain intact" if report.ok else f"{len(report.findings)} finding(s)")
    if not report.ok:
        sys.exit(1)


class _ProvenanceGroup(click.Group):
    """``provenance ASSET`` builds a report; ``provenance verify REPORT`` checks one."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["report", *args]
        return super().resolve_command(ctx, args)


@click.group(cls=_ProvenanceGroup)
def provenance() -> None:
    """Provenance report of an asset for credit staff (docs/provenance.md).

    \b
    assetwatch provenance ASSET [--days 180] [--format json|html] [-o FILE]
    assetwatch provenance verify REPORT.json
    """


@provenance.command("report")
@click.argument("asset_id")
@click.option("--days", default=180, show_default=True, type=click.IntRange(1, 3660))
@click.option("--end", default=None, help="End of the period (RFC 3339; default now).")
@click.option(
    "--format", "fmt", type=click.Choice(["json", "html"]), default="json", show_default=True
)
@click.option("-o", "--output", default="-", help="Write to this file (default: stdout).")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.pass_context
def report(
    ctx: click.Context,
    asset_id: str,
    days: int,
    end: str | None,
    fmt: str,
    output: str,
    as_json: bool,
) -> None:
    """Build the provenance report of ASSET_ID over the last DAYS days."""
    from collateral.provenance import build_report, render_html

    when = None
    if end:
        try:
            when = datetime.fromisoformat(end.replace("Z", "+00:00"))
        except ValueError as exc:
            raise click.BadParameter(
                f"{end!r} is not an RFC 3339 time", param_hint="--end"
            ) from exc
        if when.tzinfo is None:
            raise click.BadParameter("needs a time zone (e.g. Z)", param_hint="--end")
    try:
        with connection(settings_of(ctx)) as conn:
            doc = build_report(conn, asset_id, days=days, end=when)
    except (CollateralError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    text = (
        json.dumps(doc, ensure_ascii=False, indent=1)
        if fmt == "json" or as_json
        else render_html(doc)
    )
    if output == "-":
        click.echo(text)
    else:
        Path(output).write_text(text + "\n", encoding="utf-8")
        click.echo(f"{doc['body']['verdict']['verdict']}: written to {output}", err=True)


@provenance.command("verify")
@click.argument("report_file")
@click.option("--no-recompute", is_flag=True, help="Only check the two digests.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def verify_cmd(ctx: click.Context, report_file: str, no_recompute: bool, as_json: bool) -> None:
    """Prove a JSON report and the readings behind it are unchanged (exit 1 if not)."""
    from collateral.provenance import verify_report

    try:
        doc = json.loads(_read(report_file))
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"{report_file} is not JSON: {exc}") from exc
    try:
        with connection(settings_of(ctx)) as conn:
            res = verify_report(conn, doc, recompute=not no_recompute)
    except (CollateralError, TelemetryError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(res.as_dict()))
    else:
        for line in res.details:
            click.echo(line)
        click.echo("VERIFIED: report and readings unchanged" if res.ok else "NOT VERIFIED")
    if not res.ok:
        sys.exit(1)
