"""What a report shows of a process or a model, gathered from the database into plain data."""

from __future__ import annotations

import base64

from .graph import GROUP_MIN, details, provenance

MAX_HEADLINE = 40  # headline numbers shown at most


def _scalars(content: dict, prefix: str = "") -> list[list]:
    """[name, value] of the numbers and short strings of a Dict's content, one level of nesting flattened."""
    rows = []
    for key, value in content.items():
        if key in ("units", "values", "items"):
            continue
        if isinstance(value, dict):
            rows.extend(_scalars({f"{key}.{k}": v for k, v in value.items() if not isinstance(v, (dict, list))},
                                 prefix))
        elif isinstance(value, bool) or isinstance(value, (int, float)) or (isinstance(value, str)
                                                                            and len(value) < 80):
            rows.append([f"{prefix}{key}", round(value, 6) if isinstance(value, float) else value])
        elif isinstance(value, list) and 0 < len(value) <= 8 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            rows.append([f"{prefix}{key}", ", ".join(f"{v:.6g}" for v in value)])  # κ(T) at a few T
    return rows


def outputs_by_label(process) -> dict:
    """Output link label (namespaces joined with '.') → node, for created and returned outputs."""
    from aiida.common.links import LinkType

    return {link.link_label.replace("__", "."): link.node
            for link in process.base.links.get_outgoing(link_type=(LinkType.CREATE, LinkType.RETURN)).all()
            if link.link_label not in ("remote_folder", "retrieved")}


def headline(outputs: dict) -> list[list]:
    """The headline numbers: the scalars of top-level Dict outputs (scores, output_parameters) with units."""
    from aiida import orm

    rows = []
    for label, node in sorted(outputs.items()):
        if "." in label or not isinstance(node, orm.Dict):
            continue
        units = node.get_dict().get("units", {})
        for name, value in _scalars(node.get_dict()):
            rows.append([f"{label}.{name}", value, units.get(name.split(".")[0], "") if isinstance(units, dict)
                         else ""])
    return rows[:MAX_HEADLINE]


def per_item_table(outputs: dict) -> dict:
    """One row per name of the per-structure ``output_parameters.<name>`` Dicts (batch workflows): the scalar
    columns they share. Empty when the process has no such namespace."""
    from aiida import orm

    items = {label.split(".", 1)[1]: node for label, node in outputs.items()
             if label.startswith("output_parameters.") and isinstance(node, orm.Dict)}
    if not items:
        return {"columns": [], "rows": []}
    table = {name: dict(_scalars(node.get_dict())) for name, node in items.items()}
    columns = sorted(set.intersection(*(set(row) for row in table.values())))
    return {"columns": ["name", *columns],
            "rows": [[name, *(table[name][c] for c in columns)] for name in sorted(table)]}


def plots(outputs: dict) -> list[dict]:
    """The PNG outputs (a workflow's stored plots) as base64, to inline."""
    from aiida import orm

    shown = []
    for label, node in sorted(outputs.items()):
        if isinstance(node, orm.SinglefileData) and node.filename.lower().endswith(".png"):
            shown.append({"name": label, "pk": node.pk,
                          "png": base64.b64encode(node.get_content(mode="rb")).decode("ascii")})
    return shown


def collect_process(process, group_min: int = GROUP_MIN) -> dict:
    """Everything the report of ``process`` shows (groups of ``group_min`` or more in its graph)."""
    outputs = outputs_by_label(process)
    return {"kind": "process", "title": f"{process.process_label}<{process.pk}>", "node": details(process),
            "headline": headline(outputs), "table": per_item_table(outputs), "plots": plots(outputs),
            "graph": provenance(process, group_min)}


def collect_model(model) -> dict:
    """The report of a GraceModelData: the job that trained it (its datasets, its parent model) and every
    process that used it, with what they computed."""
    from aiida import orm

    from ..data import GraceDatasetData

    creator = model.creator
    graph = provenance(creator) if creator is not None else {"nodes": {model.pk: details(model)}, "links": [],
                                                              "groups": {}}
    lineage, parent = [], creator
    while parent is not None and "parent_model" in parent.inputs:
        ancestor = parent.inputs.parent_model
        lineage.append(details(ancestor))
        parent = ancestor.creator
    used = orm.QueryBuilder().append(type(model), filters={"id": model.pk}, tag="model")
    used.append(orm.ProcessNode, with_incoming="model", project=["*"])
    users = sorted({node.pk: node for (node,) in used.all()}.values(), key=lambda node: node.ctime)
    rows = [[f"{node.process_label}<{node.pk}>", node.process_state.value if node.process_state else "",
             node.exit_status, node.ctime.isoformat(timespec="seconds")] for node in users]
    for node in users:
        graph["nodes"].setdefault(node.pk, details(node))
        graph["links"].append((model.pk, node.pk, "model", "input"))
    graph["nodes"].setdefault(model.pk, details(model))
    datasets = [details(link.node) for link in creator.base.links.get_incoming().all()
                if isinstance(link.node, GraceDatasetData)] if creator is not None else []
    return {"kind": "model", "title": f"GraceModelData<{model.pk}> {model.label}".strip(), "node": details(model),
            "headline": [[key, value, ""] for key, value in details(model).items()
                         if key not in ("pk", "uuid", "type", "kind")],
            "table": {"columns": ["process", "state", "exit status", "created"], "rows": rows},
            "trained_on": datasets, "lineage": lineage, "plots": [], "graph": graph}
