"""``aiida-grace report`` opened in a real headless Chromium (Debian's chromium and chromium-driver, driven by
selenium): an elastic batch, a κ run and a model; nodes clicked, links followed from a C_ij back to the job that
relaxed its strained cells; nothing loaded from the network."""

import shutil
from pathlib import Path

import pytest
from aiida import orm
from aiida.engine import run_get_node
from ase.build import bulk

from aiida_grace.report import write_report

pytestmark = pytest.mark.slow
CHROMEDRIVER = shutil.which("chromedriver")
SMALL_KAPPA = {"fc3_supercell": [[-1, 1, 1], [1, -1, 1], [1, 1, -1]], "fc2_supercell": [2, 2, 2], "mesh": [6, 6, 6]}


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium through chromedriver, host names unresolvable (a page that tried the network fails)."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    if not (CHROMEDRIVER and shutil.which("chromium")):
        pytest.skip("Debian's chromium and chromium-driver are not installed (scripts/install.sh installs them as "
                    "root)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1600,1000",
                     "--host-resolver-rules=MAP * ~NOTFOUND"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    yield driver
    driver.quit()


def open_report(driver, path: Path):
    driver.get(path.resolve().as_uri())
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0  # no fetch at all
    source = driver.page_source
    assert "<script src" not in source and "<link" not in source and "src=\"http" not in source
    return driver


def click_node(driver, element_id: str) -> None:
    element = driver.find_element("id", element_id)
    driver.execute_script("arguments[0].dispatchEvent(new MouseEvent('click', {bubbles: true}))", element)


def detail(driver, key: str) -> str:
    return driver.find_element("css selector", f"#details td[data-key='{key}']").text


def follow(driver, kind: str, label: str, pk: int) -> None:
    """Click the link button of the shown node that goes (kind, label) to node ``pk``."""
    buttons = [b for b in driver.find_elements("css selector", "#details button.link")
               if b.get_attribute("data-pk") == str(pk) and b.get_attribute("data-kind") == kind
               and f" {label} " in f" {b.text} "]
    assert buttons, [b.text for b in driver.find_elements("css selector", "#details button.link")]
    buttons[0].click()


@pytest.fixture(scope="module")
def elastic_batch(grace_codes, trained_model):
    from aiida_grace.workflows.elastic_batch import GraceElasticBatchWorkChain

    structures = {"cu": bulk("Cu", "fcc", a=3.6), "al": bulk("Al", "fcc", a=4.05),
                  "cu3al": bulk("Cu", "fcc", a=3.7, cubic=True)}
    structures["cu3al"][0].symbol = "Al"
    builder = GraceElasticBatchWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, {n: orm.StructureData(ase=a) for n, a in structures.items()},
        protocol="fast")
    results, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    return node


def test_elastic_batch_report_shows_results_and_traces_a_c_ij_to_its_strained_cells(
        browser, elastic_batch, trained_model, tmp_path):
    path = write_report(elastic_batch, tmp_path, group_min=2)
    driver = open_report(browser, path)
    assert driver.title == f"GraceElasticBatchWorkChain<{elastic_batch.pk}>"
    rows = driver.find_elements("css selector", "#items tbody tr")
    assert sorted(r.find_element("css selector", "td").text for r in rows) == ["al", "cu", "cu3al"]
    driver.find_element("id", "filter").send_keys("cu")
    assert len([r for r in rows if r.is_displayed()]) == 2
    # the work chain itself is selected at first; the model's details show what pins it
    assert detail(driver, "process") == "GraceElasticBatchWorkChain"
    click_node(driver, f"n{trained_model.pk}")
    assert detail(driver, "sha256") == trained_model.base.attributes.get("sha256")
    assert detail(driver, "elements") == "Al, Cu"
    # the three fits are one group; clicking it expands the graph
    groups = driver.find_elements("css selector", "#graph g.node[id^='g']")
    assert any("3 × fit_elastic_constants" in g.get_attribute("textContent") for g in groups)
    tensor = elastic_batch.outputs.elastic_tensors["cu"]
    click_node(driver, next(g.get_attribute("id") for g in groups
                            if "fit_elastic_constants" in g.get_attribute("textContent")))
    assert driver.find_element("id", "graph").get_attribute("data-view") == "expanded"
    # C_ij → the fit that made it → its strained cells → the job that relaxed them
    click_node(driver, f"n{tensor.pk}")
    assert "elastic_tensor(6, 6)" in detail(driver, "arrays")
    fit = tensor.creator
    follow(driver, "create", "elastic_tensor", fit.pk)
    assert detail(driver, "process") == "fit_elastic_constants"
    cells = fit.inputs.dataset
    follow(driver, "input", "dataset", cells.pk)
    assert detail(driver, "n_structures") == "12" and "stress" in detail(driver, "labels")
    job = cells.creator
    follow(driver, "create", "output_datasets__cu", job.pk)
    assert detail(driver, "process") == "GraceEvaluateCalculation" and detail(driver, "exit_status") == "0"
    assert "aiida-grace-driver" in detail(driver, "command")
    stage = next(n for n in elastic_batch.called if n.label == "strained")
    assert job.pk in {n.pk for n in stage.called_descendants}
    driver.save_screenshot(str(tmp_path / "elastic_batch.png"))


def test_kappa_report_shows_kappa_and_its_job(browser, grace_codes, trained_model, tmp_path):
    from aiida_grace.workflows.thermal_conductivity import GraceThermalConductivityWorkChain

    builder = GraceThermalConductivityWorkChain.get_builder_from_protocol(
        grace_codes["driver"], trained_model, bulk("Cu", "fcc", a=3.63, cubic=True), overrides=SMALL_KAPPA)
    _, node = run_get_node(builder)
    assert node.is_finished_ok, node.exit_message
    driver = open_report(browser, write_report(node, tmp_path))
    headline = {row.find_elements("css selector", "td")[0].text: row.find_elements("css selector", "td")[1].text
                for row in driver.find_elements("css selector", "#headline tbody tr")}
    kappa = node.outputs.output_parameters["kappa_TOT_ave"]  # W/m/K per temperature
    shown = [float(x) for x in headline["output_parameters.kappa_TOT_ave"].split(",")]
    assert shown == pytest.approx(kappa, rel=1e-5)
    assert headline["output_parameters.has_imaginary_modes"] == "False"
    job = next(n for n in node.called_descendants if n.process_label == "GraceKappaCalculation")
    click_node(driver, f"n{job.pk}")
    assert detail(driver, "process") == "GraceKappaCalculation" and detail(driver, "exit_status") == "0"
    follow(driver, "input", "forces", job.inputs.forces.pk)
    assert int(detail(driver, "n_structures")) == job.inputs.forces.n_structures
    driver.save_screenshot(str(tmp_path / "kappa.png"))


def test_model_report_lists_its_training_and_its_uses(browser, trained_model, elastic_batch, tmp_path):
    driver = open_report(browser, write_report(trained_model, tmp_path))
    assert "trained on: GraceDatasetData<" in driver.find_element("id", "trained-on").text
    processes = [r.find_element("css selector", "td").text for r in driver.find_elements("css selector", "#items tbody tr")]
    assert f"GraceElasticBatchWorkChain<{elastic_batch.pk}>" in processes
    click_node(driver, f"n{trained_model.creator.pk}")
    assert detail(driver, "process") == "GraceTrainCalculation"


def test_a_fine_tuned_model_s_page_names_its_parent_and_its_data(finetuned_frozen, trained_model, tmp_path):
    results, job = finetuned_frozen
    text = write_report(results["model"], tmp_path).read_text()
    assert f"parent models: GraceModelData&lt;{trained_model.pk}&gt;" in text
    assert f"GraceDatasetData&lt;{job.inputs.dataset.pk}&gt; ({job.inputs.dataset.n_structures} structures)" in text
