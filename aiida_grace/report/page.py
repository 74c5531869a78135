"""One self-contained HTML page (inline CSS, JavaScript and SVG; nothing loaded from the network) of a process or a
model: its headline numbers, the per-structure table (sortable, filterable), its plots and its provenance graph
(click a node for its details and its links; groups of a large batch expand)."""

from __future__ import annotations

import html
import json
from pathlib import Path

from .collect import collect_model, collect_process
from .graph import GROUP_MIN, dot_source, svg

CSS = """
body{font-family:Helvetica,Arial,sans-serif;margin:0;color:#222}
header{background:#2b4c7e;color:#fff;padding:10px 18px}header h1{margin:0;font-size:20px}
header .meta{font-size:13px;opacity:.9}
main{display:flex;gap:14px;padding:12px 18px}#left{flex:1 1 50%;min-width:0;overflow-x:auto}#right{flex:1 1 50%;min-width:0}
h2{font-size:16px;border-bottom:1px solid #ccc;padding-bottom:3px}
table{border-collapse:collapse;font-size:12px;width:100%}td,th{border:1px solid #ddd;padding:3px 6px;text-align:left}
th{background:#f0f3f8;cursor:pointer;user-select:none}tr.hidden{display:none}
#graph{border:1px solid #ccc;overflow:auto;max-height:75vh;background:#fff}#graph svg{max-width:none}
#graph g.node{cursor:pointer}#graph g.node.selected polygon,#graph g.node.selected ellipse,
#graph g.node.selected path{stroke:#d62728;stroke-width:3px}
#details{border:1px solid #ccc;padding:8px;font-size:12px;background:#fafafa;min-height:60px}
#details button{font-size:12px;margin:1px;cursor:pointer}.plot img{max-width:100%;border:1px solid #ddd}
.controls{margin:6px 0;font-size:12px}input#filter{width:50%}
"""

JS = """
const DATA = JSON.parse(document.getElementById('report-data').textContent);
const NODES = DATA.graph.nodes, LINKS = DATA.graph.links, GROUPS = DATA.graph.groups;
function el(tag, attrs, text){const e=document.createElement(tag);for(const k in attrs||{})e.setAttribute(k,attrs[k]);
  if(text!==undefined)e.textContent=text;return e;}
function zoom(mode){const holder=document.getElementById('graph');holder.dataset.zoom=mode;const s=holder.querySelector('svg');
  if(!s)return; s.style.width=mode==='fit'?'100%':''; s.style.height=mode==='fit'?'auto':'';
  document.getElementById('zoom').textContent=mode==='fit'?'zoom 1:1':'fit to width';}
function showGraph(which){const holder=document.getElementById('graph');
  holder.innerHTML=document.getElementById('svg-'+which).innerHTML;holder.dataset.view=which;zoom(holder.dataset.zoom||'fit');
  document.getElementById('toggle').textContent= which==='collapsed'?'expand all groups':'collapse groups';
  holder.querySelectorAll('g.node').forEach(g=>g.addEventListener('click',()=>select(g.id)));}
function nodeLabel(pk){const n=NODES[pk];return (n.process||n.type)+'<'+pk+'>'+(n.label?' '+n.label:'');}
function select(id){
  if(id.startsWith('g')){if(document.getElementById('graph').dataset.view==='collapsed')showGraph('expanded');
    id='n'+GROUPS[id].members[0];}
  const pk=id.slice(1), node=NODES[pk], box=document.getElementById('details');
  document.querySelectorAll('#graph g.node.selected').forEach(g=>g.classList.remove('selected'));
  const g=document.getElementById(id); if(g){g.classList.add('selected');g.scrollIntoView({block:'center',inline:'center'});}
  box.innerHTML=''; box.appendChild(el('h3',{},nodeLabel(pk)));
  const t=el('table',{id:'details-table'});
  for(const [k,v] of Object.entries(node)){ if(typeof v==='object'&&v!==null){
      for(const [k2,v2] of Object.entries(v)){const r=el('tr');r.appendChild(el('th',{},k+'.'+k2));r.appendChild(el('td',{},String(v2)));t.appendChild(r);} }
    else {const r=el('tr');r.appendChild(el('th',{},k));r.appendChild(el('td',{'data-key':k},String(v)));t.appendChild(r);} }
  box.appendChild(t);
  for(const [title,side] of [['comes from',1],['goes to',0]]){
    const found=LINKS.filter(l=>String(l[side])===pk); if(!found.length)continue;
    box.appendChild(el('h4',{},title));
    found.forEach(l=>{const other=String(l[1-side]);const b=el('button',{'class':'link','data-pk':other,'data-kind':l[3]},
      (side===1?'':'')+l[3]+' '+l[2]+' \\u2192 '+nodeLabel(other)); b.addEventListener('click',()=>select('n'+other)); box.appendChild(b);});
  }
}
function sortTable(col){const table=document.getElementById('items');const rows=[...table.tBodies[0].rows];
  const dir=table.dataset.sort==String(col)?-1:1;table.dataset.sort=dir===1?String(col):'';
  rows.sort((a,b)=>{const x=a.cells[col].textContent,y=b.cells[col].textContent;const nx=parseFloat(x),ny=parseFloat(y);
    return dir*((isNaN(nx)||isNaN(ny))?x.localeCompare(y):nx-ny);});rows.forEach(r=>table.tBodies[0].appendChild(r));}
function filterTable(text){document.querySelectorAll('#items tbody tr').forEach(r=>
  r.classList.toggle('hidden',!r.textContent.toLowerCase().includes(text.toLowerCase())));}
document.getElementById('zoom').addEventListener('click',()=>zoom(
  document.getElementById('graph').dataset.zoom==='fit'?'1:1':'fit'));
document.getElementById('toggle').addEventListener('click',()=>showGraph(
  document.getElementById('graph').dataset.view==='collapsed'?'expanded':'collapsed'));
const f=document.getElementById('filter'); if(f)f.addEventListener('input',e=>filterTable(e.target.value));
document.querySelectorAll('#items th').forEach((th,i)=>th.addEventListener('click',()=>sortTable(i)));
showGraph('collapsed'); select('n'+DATA.node.pk);
"""


def _table(columns: list, rows: list, table_id: str) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _fmt(value) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def render(data: dict) -> str:
    """The HTML page of ``data`` (:func:`collect_process` or :func:`collect_model`)."""
    graph = data["graph"]
    collapsed = svg(dot_source(graph, collapse=True))
    expanded = svg(dot_source(graph, collapse=False)) if graph["groups"] else collapsed
    node = data["node"]
    meta = " · ".join(html.escape(f"{k}: {node[k]}") for k in ("state", "exit_status", "exit_message", "ctime",
                                                                 "duration_s") if node.get(k) not in (None, ""))
    parts = [f"<header><h1>{html.escape(data['title'])}</h1><div class='meta'>{meta}</div></header><main>",
             "<div id='left'><h2>Results</h2>",
             _table(["quantity", "value", "unit"], data["headline"], "headline") if data["headline"]
             else "<p>No scalar outputs at the top level (see the per-structure table).</p>"]
    if data.get("trained_on") is not None:
        trained = ", ".join(f"{d['type']}<{d['pk']}> ({d.get('n_structures', '?')} structures)"
                            for d in data["trained_on"]) or "not known (imported)"
        parents = " ← ".join(f"GraceModelData<{d['pk']}> {d.get('label', '')}" for d in data["lineage"]) or "none"
        parts.append(f"<h2>Lineage</h2><p id='trained-on'>trained on: {html.escape(trained)}</p>"
                     f"<p id='parents'>parent models: {html.escape(parents)}</p>")
    if data["table"]["rows"]:
        title = "Processes that used this model" if data["kind"] == "model" else "Per structure"
        parts += [f"<h2>{title} ({len(data['table']['rows'])})</h2>",
                  "<div class='controls'>filter: <input id='filter' placeholder='type to filter rows'> "
                  "(click a column to sort)</div>", _table(data["table"]["columns"], data["table"]["rows"], "items")]
    for plot in data["plots"]:
        parts.append(f"<h2>{html.escape(plot['name'])} &lt;{plot['pk']}&gt;</h2><div class='plot'>"
                     f"<img alt='{html.escape(plot['name'])}' src='data:image/png;base64,{plot['png']}'></div>")
    parts += ["</div><div id='right'><h2>Provenance</h2><div class='controls'><button id='toggle'></button> <button id='zoom'></button> "
              "click a node for its details and links; follow a link with its button</div>",
              "<div id='graph'></div><h2>Details</h2><div id='details'></div></div></main>",
              f"<template id='svg-collapsed'>{collapsed}</template><template id='svg-expanded'>{expanded}</template>"]
    payload = json.dumps({"node": node, "graph": {"nodes": {str(k): v for k, v in graph["nodes"].items()},
                                                   "links": graph["links"], "groups": graph["groups"]}},
                         default=str).replace("</", "<\\/")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{html.escape(data['title'])}</title><style>{CSS}</style></head><body>" + "".join(parts)
            + f"<script type='application/json' id='report-data'>{payload}</script><script>{JS}</script>"
            + "</body></html>")


def write_report(node, folder: str | Path, group_min: int = GROUP_MIN) -> Path:
    """Write ``report_<PK>.html`` of a process or a GraceModelData into ``folder``; its path. In the graph,
    ``group_min`` or more nodes of one kind under one process collapse into a group."""
    from aiida import orm

    from ..data import GraceModelData

    if isinstance(node, GraceModelData):
        data = collect_model(node)
    elif isinstance(node, orm.ProcessNode):
        data = collect_process(node, group_min)
    else:
        raise TypeError(f"node {node.pk} is a {type(node).__name__}: a report is of a process or a GraceModelData")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"report_{node.pk}.html"
    path.write_text(render(data), encoding="utf-8")
    return path
