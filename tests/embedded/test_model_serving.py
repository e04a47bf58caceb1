"""Model serving: payloads built and refused as the SDK's serving engine does, local deployments of a
predictor script, and the project's ``Models`` dataset."""

from __future__ import annotations

from pathlib import Path

import pytest
from sdk_support import sdk

from serverless_iris.embedded.project import LocalProject


@pytest.mark.parametrize(
    ("data", "inputs"),
    [(None, [1, 2]), (None, [[1, 2], [3, 4]]), (None, {"a": 1}), ({"inputs": [{"a": 1}]}, None)],
)
def test_payload_is_built_as_the_sdk_builds_it(data, inputs) -> None:
    from serverless_iris.embedded.model_serving import _inference_payload

    engine = sdk("hsml.engine.serving_engine.ServingEngine")()
    engine._validate_inference_payload("REST", data, inputs)
    expected = data if data is not None else engine._parse_inference_inputs("REST", inputs)
    assert _inference_payload(data, inputs) == expected


def test_payload_errors_are_the_sdks() -> None:
    from serverless_iris.embedded.model_serving import ModelServingException, _inference_payload

    cases = [
        ({"x": 1}, None),
        ({"instances": []}, None),
        ({"instances": [1]}, None),
        ({"instances": [1]}, [1]),
    ]
    cases += [([1], None), ({"instances": [{}]}, None), (None, 5), (None, []), (None, None)]
    for data, inputs in cases:
        with pytest.raises(ModelServingException) as ours:
            _inference_payload(data, inputs)
        with pytest.raises(Exception) as theirs:
            sdk("hsml.engine.serving_engine.ServingEngine")()._validate_inference_payload(
                "REST", data, inputs
            )
        assert str(ours.value) == str(theirs.value)


def saved_model(project: LocalProject, tmp_path: Path, predictor: str):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "threshold.txt").write_text("5")
    (folder / "predictor.py").write_text(predictor)
    model = project.get_model_registry().python.create_model("sizer")
    return model.save(str(folder))


SIZER = """
import os

class Predict:
    def __init__(self):
        self.threshold = float(open(os.path.join(os.environ["MODEL_FILES_PATH"], "threshold.txt")).read())

    def predict(self, inputs):
        if inputs == [["crash"]]:
            os._exit(3)
        return ["big" if row[0] > self.threshold else "small" for row in inputs]
"""


def test_deployment_round_trip_and_a_crashing_predictor(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, SIZER)
    deployment = model.deploy(script_file=model.version_path + "/predictor.py")
    assert deployment.name == "sizer" and deployment.get_state().status == "Created"
    with pytest.raises(Exception, match="not running"):
        deployment.predict(inputs=[1])
    deployment.start()
    assert deployment.predict(inputs=[[7], [2]]) == {"predictions": ["big", "small"]}
    with pytest.raises(Exception, match="not stopped"):
        deployment.delete()
    with pytest.raises(Exception, match="predictor process may have died"):
        deployment.predict(inputs=[["crash"]])
    assert deployment.get_state().status == "Failed"
    deployment.start()
    assert deployment.predict({"instances": [[9]]}) == {"predictions": ["big"]}
    deployment.stop()
    serving = project.get_model_serving()
    assert [d.name for d in serving.get_deployments(model, status="stopped")] == ["sizer"]
    assert serving.get_deployments(status="running") == []
    deployment.delete()
    assert project.get_model_serving().get_deployment("sizer") is None


def test_model_folders_are_the_projects_models_dataset(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, SIZER)
    api = project.get_dataset_api()
    assert api.list("Models/sizer") == ["/Models/sizer/1"]
    assert api.list("Models/sizer/1") == ["/Models/sizer/1/predictor.py", "/Models/sizer/1/threshold.txt"]
    api.upload(str(tmp_path / "model" / "predictor.py"), "Resources/predictors")
    deployment = model.deploy(name="fromresources", script_file="Resources/predictors/predictor.py")
    assert deployment.script_file == str(
        project.store / "datasets" / "Resources" / "predictors" / "predictor.py"
    )
    with pytest.raises(Exception, match="not found"):
        model.deploy(name="missing", script_file="Resources/none.py")
    again = model.deploy(name="fromresources", script_file="Resources/predictors/predictor.py")
    assert again.name == "fromresources" and len(project.get_model_serving().get_deployments(model)) == 1


def test_a_predictor_that_fails_to_load_reports_its_error(project: LocalProject, tmp_path: Path) -> None:
    model = saved_model(project, tmp_path, "raise RuntimeError('no model files here')\n")
    deployment = model.deploy(name="broken", script_file=model.version_path + "/predictor.py")
    with pytest.raises(Exception, match="no model files here"):
        deployment.start()
    assert deployment.get_state().status == "Failed"
