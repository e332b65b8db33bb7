"""``shipyard deploy``: which model versions take a deployment's traffic.

shipyard deploy churn                           serve churn@champion (create the deployment)
shipyard deploy churn --version 4 --canary 10%  version 4 takes 10% of requests
shipyard deploy churn --version 4 --shadow      version 4 answers a copy of every request
shipyard deploy promote churn                   the candidate takes @champion (through gates)
shipyard deploy rollback churn                  take the candidate out (or move the alias back)
shipyard deploy show|history churn, shipyard deploy list
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from shipyard.cli import _context
from shipyard.cli._format import when


class _DefaultSet(TyperGroup):
    """``shipyard deploy NAME ...`` means ``shipyard deploy set NAME ...``."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["set", *args]
        return super().parse_args(ctx, args)


deploy_app = typer.Typer(
    cls=_DefaultSet,
    help="Deployments: the alias's holder serves, a candidate takes a canary share or a shadow copy.",
    no_args_is_help=True,
)

DeploymentName = Annotated[
    str, typer.Argument(help="Deployment name (by default the model's).", show_default=False)
]


@deploy_app.command("set")
def set_(
    name: DeploymentName,
    version: Annotated[
        int | None, typer.Option("--version", "-v", help="Candidate version.")
    ] = None,
    canary: Annotated[
        str | None, typer.Option(help="The candidate's share of requests: 10% or 0.1.")
    ] = None,
    shadow: Annotated[
        bool,
        typer.Option("--shadow", help="The candidate answers a copy of every request, unreturned."),
    ] = False,
    model: Annotated[
        str | None, typer.Option(help="Registered model (default: the deployment's name).")
    ] = None,
    primary: Annotated[
        str | None, typer.Option(help="Alias whose holder serves (default champion).")
    ] = None,
    sticky_key: Annotated[
        str | None,
        typer.Option(help="Input column or request header: one key, always the same version."),
    ] = None,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """Create or change a deployment (`shipyard deploy NAME ...` is the same)."""
    from shipyard.serving import deployments

    deployment = deployments.deploy(
        name,
        version,
        model=model,
        canary=canary,
        shadow=shadow,
        primary=primary,
        sticky_key=sticky_key,
        reason=reason,
        client=_context.tracking_client(),
    )
    spec = deployments.DeploymentSpec.from_json(deployment.spec)
    typer.echo(
        f"{deployment.name} (revision {deployment.revision}): {deployment.model_name}{spec.describe()}. "
        "Running servers pick it up within their --poll-seconds."
    )


@deploy_app.command("promote")
def promote(
    name: DeploymentName,
    dataset: Annotated[
        str | None, typer.Option("--data", "-d", help="Labelled dataset version to evaluate on.")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", "-t", help="Label column.")] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if gates fail (needs --reason).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """The candidate takes the primary alias, if the model's gates pass; then it serves everything."""
    from shipyard.cli.models import labelled_data, show_promotion
    from shipyard.serving import deployments

    client = _context.tracking_client()
    handle = labelled_data(dataset, client)
    promotion = show_promotion(
        lambda: deployments.promote(
            name, data=handle, target=target, force=force, reason=reason, client=client
        ),
        f"{name}: the candidate -> the primary alias",
    )
    typer.echo(
        f"{name}: version {promotion.version.version} holds @{promotion.alias} and serves all traffic."
    )


@deploy_app.command("rollback")
def rollback(
    name: DeploymentName,
    reason: Annotated[str, typer.Option(help="Why, for the history.")] = "",
) -> None:
    """Take the candidate out; with none, move the primary alias back to its previous version."""
    from shipyard.serving import deployments

    deployment = deployments.rollback(name, reason=reason, client=_context.tracking_client())
    spec = deployments.DeploymentSpec.from_json(deployment.spec)
    typer.echo(
        f"{deployment.name} (revision {deployment.revision}): {deployment.model_name}{spec.describe()}."
    )


@deploy_app.command("show")
def show(name: DeploymentName) -> None:
    """A deployment: its model, the primary alias's holder, the candidate and its share."""
    from shipyard import registry
    from shipyard.serving import deployments

    client = _context.tracking_client()
    deployment = deployments.get_deployment(name, client=client)
    spec = deployments.DeploymentSpec.from_json(deployment.spec)
    holder = registry.get_model(deployment.model_name, client=client).aliases.get(spec.primary)
    typer.echo(f"deployment  {deployment.name} (revision {deployment.revision})")
    typer.echo(f"model       {deployment.model_name}")
    typer.echo(f"primary     @{spec.primary} = version {holder if holder is not None else '-'}")
    if spec.candidate is not None:
        share = f"{spec.weight:.0%} of requests" if spec.mode == "canary" else "a copy of all"
        typer.echo(f"candidate   version {spec.candidate}, {spec.mode}: {share}")
    typer.echo(f"sticky key  {spec.sticky_key or '-'}")
    typer.echo(f"updated     {when(deployment.updated_ms)}")


@deploy_app.command("history")
def history(name: DeploymentName) -> None:
    """Every change of a deployment: when, what, by whom, why."""
    from rich.table import Table

    from shipyard.serving import deployments

    table = Table(title=f"{name}: history")
    for column in ("revision", "when", "action", "traffic", "user", "reason"):
        table.add_column(column)
    for event in deployments.deployment_history(name, client=_context.tracking_client()):
        spec = deployments.DeploymentSpec.from_json(event.spec)
        table.add_row(
            str(event.revision),
            when(event.created_ms),
            event.action,
            spec.describe(),
            event.user,
            event.reason,
        )
    _context.console().print(table)


@deploy_app.command("list")
def list_() -> None:
    """The project's deployments."""
    from rich.table import Table

    from shipyard.serving import deployments

    table = Table(title="deployments")
    for column in ("name", "model", "traffic", "revision", "updated"):
        table.add_column(column)
    for deployment in deployments.list_deployments(client=_context.tracking_client()):
        spec = deployments.DeploymentSpec.from_json(deployment.spec)
        table.add_row(
            deployment.name,
            deployment.model_name,
            spec.describe(),
            str(deployment.revision),
            when(deployment.updated_ms),
        )
    _context.console().print(table)
