"""``flask shop`` commands for search: reindex, eval-search."""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from shop.catalog.models import Product
from shop.extensions import db
from shop.search import evaluation, index
from shop.search.backends import get_backend
from shop.search.services import ranked_skus


@click.command("reindex")
@with_appcontext
@click.option("--batch-size", default=2000, show_default=True, help="Products per batch.")
def reindex(batch_size: int) -> None:
    """Rebuild the search index from the active products (with a progress bar)."""
    with db.engine.begin() as conn:
        total = len(index.product_ids(conn))
        with click.progressbar(length=total, label="Indexing products") as bar:
            n = index.reindex(conn, batch_size=batch_size, progress=bar.update)
    click.echo(f"Indexed {n} active products.")


@click.command("eval-search")
@with_appcontext
@click.option(
    "--queries",
    "queries_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CSV with query_id,query.",
)
@click.option(
    "--labels",
    "labels_path",
    required=True,
    type=click.Path(exists=True, dir_okay=False),
    help="CSV with query_id,product_id,rating (0-3).",
)
@click.option("--show-worst", default=0, show_default=True, help="List the N worst queries.")
@click.option("-k", default=10, show_default=True, help="Cut-off rank.")
@click.option(
    "--forms",
    is_flag=True,
    help="Also score each query in the other forms shoppers type it (the last word "
    "singular/plural, two words joined or hyphenated, its longest word misspelt) with its "
    "own ratings.",
)
@click.option(
    "--typos",
    is_flag=True,
    help="Also score each query with its longest word misspelt once (two letters swapped, "
    "one dropped, one doubled) at each of its inner letters.",
)
def eval_search(
    queries_path: str, labels_path: str, show_worst: int, k: int, forms: bool, typos: bool
) -> None:
    """Print NDCG@k of the running search configuration over rated queries."""
    queries = evaluation.load_queries(queries_path)
    labels = evaluation.load_labels(labels_path)
    mean, scores = evaluation.evaluate(queries, labels, lambda q: ranked_skus(q, k), k)
    backend = get_backend(db.session).name
    click.echo(f"backend: {backend}")
    click.echo(f"queries rated: {len(scores)} of {len(queries)}")
    click.echo(f"NDCG@{k}: {mean:.4f}")
    if forms:
        by_form = evaluation.evaluate_forms(queries, labels, lambda q: ranked_skus(q, k), k)
        for name, (n, typed, other) in sorted(by_form.items()):
            click.echo(f"{name} form: {n} queries, NDCG@{k} {typed:.4f} as rated, {other:.4f} {name}")
    if typos:
        by_kind = evaluation.evaluate_forms(
            queries, labels, lambda q: ranked_skus(q, k), k, forms=evaluation.typo_forms
        )
        for name, (n, typed, other) in sorted(by_kind.items()):
            click.echo(f"{name} typos: {n} misspellings, NDCG@{k} {typed:.4f} as rated, {other:.4f} {name}")
    if show_worst:
        names = {}
        skus = {s for sc in scores for s in sc.returned}
        if skus:
            names = dict(
                db.session.execute(select(Product.sku, Product.name).where(Product.sku.in_(skus))).all()
            )
        for sc in sorted(scores, key=lambda s: s.ndcg)[:show_worst]:
            click.echo(f"\n{sc.ndcg:.3f}  [{sc.query_id}] {sc.query}")
            rated = labels.get(sc.query_id, {})
            for i, sku in enumerate(sc.returned, 1):
                r = rated.get(sku)
                click.echo(f"   {i:2d}. ({'-' if r is None else r}) {names.get(sku, sku)[:90]}")


#: Added to the ``flask shop`` group by ``shop.register_commands``.
COMMANDS = (reindex, eval_search)
