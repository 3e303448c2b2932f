"""Calls a live Switchyard gateway with NVIDIA's tritonclient.grpc, as a Triton user would.

Usage: tritonclient_grpc.py ADDRESS [API_KEY]
Prints one JSON object per call: {"call": name, "ok": true, "value": ...} or
{"call": name, "ok": false, "status": "StatusCode.X", "message": "..."}; the test that runs
this script judges the values. Needs tritonclient on PYTHONPATH, numpy and grpcio.
"""
import json
import queue
import sys
from functools import partial

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException

address = sys.argv[1]
key = sys.argv[2] if len(sys.argv) > 2 else None
headers = {"authorization": f"Bearer {key}"} if key else None
client = grpcclient.InferenceServerClient(url=address)


def report(name, call):
    try:
        value = call()
        print(json.dumps({"call": name, "ok": True, "value": value}), flush=True)
    except InferenceServerException as error:
        print(json.dumps({"call": name, "ok": False, "status": str(error.status()), "message": error.message()}), flush=True)


def mlp_input(seed, rows=1):
    index = np.arange(512, dtype=np.float64)
    data = np.stack([np.sin((seed + row) * 31.7 + index * 0.37) for row in range(rows)]).astype(np.float32)
    tensor = grpcclient.InferInput("input", list(data.shape), "FP32")
    tensor.set_data_from_numpy(data)
    return tensor


def mlp_answer(result):
    response = result.get_response(as_json=True)
    return {"probabilities": result.as_numpy("probabilities").tolist(), "parameters": response.get("parameters", {}), "id": response.get("id", "")}


# One array per datatype the every-type identity model takes; each must come back unchanged.
EVERY_TYPE = {
    "FP32": np.array([[1.5, -2, 3.25]], dtype=np.float32),
    "FP64": np.array([[1e300, -0.5, 2]], dtype=np.float64),
    "UINT8": np.array([[0, 255, 7]], dtype=np.uint8),
    "UINT16": np.array([[0, 65535, 9]], dtype=np.uint16),
    "UINT32": np.array([[4294967295, 0, 2]], dtype=np.uint32),
    "UINT64": np.array([[18446744073709551615, 0, 1]], dtype=np.uint64),
    "INT8": np.array([[-128, 127, 0]], dtype=np.int8),
    "INT16": np.array([[-32768, 32767, 1]], dtype=np.int16),
    "INT32": np.array([[-2147483648, 2147483647, 5]], dtype=np.int32),
    "INT64": np.array([[-9223372036854775808, 9223372036854775807, 3]], dtype=np.int64),
    "BOOL": np.array([[True, False, True]], dtype=np.bool_),
    "BYTES": np.array([[b"a", b"", "h\u00e9llo".encode()]], dtype=np.object_),
}


def every_type_round_trip():
    result = client.infer("every-type", every_type_inputs(), headers=headers)
    return {datatype: bool(np.array_equal(result.as_numpy(f"out_in_{datatype.lower()}"), data)) for datatype, data in EVERY_TYPE.items()}


def classify(model, inputs, output, class_count, fmt):
    """The classification extension (class_count=N), and what Triton would write from the plain tensor: C's format, highest first, ties by index."""
    result = client.infer(model, inputs, outputs=[grpcclient.InferRequestedOutput(output, class_count=class_count)], headers=headers)
    array = result.as_numpy(output)
    plain = client.infer(model, inputs, outputs=[grpcclient.InferRequestedOutput(output)], headers=headers).as_numpy(output)
    expected = [[fmt % (row[i], i) for i in sorted(range(len(row)), key=lambda i: (-row[i], i))[:class_count]] for row in plain.tolist()]
    return {"shape": list(array.shape), "datatype": result.get_output(output).datatype, "rows": [[item.decode() for item in row] for row in array], "expected": expected}


def every_type_inputs():
    inputs = []
    for datatype, data in EVERY_TYPE.items():
        tensor = grpcclient.InferInput(f"in_{datatype.lower()}", list(data.shape), datatype)
        tensor.set_data_from_numpy(data)
        inputs.append(tensor)
    return inputs


def async_infer():
    answers = queue.Queue()
    client.async_infer("mlp-classifier", [mlp_input(3)], partial(lambda q, result, error: q.put((result, error)), answers), request_id="async-3", headers=headers)
    result, error = answers.get(timeout=30)
    if error:
        raise error
    return mlp_answer(result)


def stream_infer():
    answers = queue.Queue()
    client.start_stream(partial(lambda q, result, error: q.put((result, error)), answers), headers=headers)
    try:
        client.async_stream_infer("mlp-classifier", [mlp_input(4)], request_id="s-4")
        client.async_stream_infer("no-such-model", [mlp_input(5)], request_id="s-5")
        # As LLM-style clients ask: each answer then says whether it is its request's last.
        client.async_stream_infer("mlp-classifier", [mlp_input(6)], request_id="s-6", enable_empty_final_response=True)
        collected = []
        for _ in range(3):
            result, error = answers.get(timeout=30)
            if error:
                collected.append({"error": error.message()})
            else:
                collected.append(mlp_answer(result))
        # No empty final response follows: the model is not decoupled, so its one answer was final.
        try:
            extra = answers.get(timeout=1)
            collected.append({"unexpected": str(extra)})
        except queue.Empty:
            pass
        return collected
    finally:
        client.stop_stream()


def statistics():
    stats = client.get_inference_statistics("mlp-classifier", headers=headers, as_json=True)
    return {"names": [entry["name"] for entry in stats["model_stats"]], "inference_count": sum(int(entry.get("inference_count", 0)) for entry in stats["model_stats"])}


report("is_server_live", lambda: client.is_server_live(headers=headers))
report("is_server_ready", lambda: client.is_server_ready(headers=headers))
report("is_model_ready", lambda: client.is_model_ready("mlp-classifier", headers=headers))
report("get_server_metadata", lambda: client.get_server_metadata(headers=headers, as_json=True))
report("get_model_metadata", lambda: client.get_model_metadata("mlp-classifier", headers=headers, as_json=True))
report("get_model_config", lambda: client.get_model_config("mlp-classifier", headers=headers, as_json=True))
report("infer", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)], request_id="sync-1", headers=headers)))
report("infer_batch", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1, rows=2)], headers=headers)))
report("infer_gzip", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)], headers=headers, compression_algorithm="gzip")))
report("infer_every_type", every_type_round_trip)
report("infer_classification", lambda: classify("mlp-classifier", [mlp_input(3, rows=2)], "probabilities", 3, "%f:%d"))
report("infer_classification_int64", lambda: classify("every-type", every_type_inputs(), "out_in_int64", 2, "%d:%d"))
report("infer_classification_bytes", lambda: classify("every-type", every_type_inputs(), "out_in_bytes", 2, "%s:%d"))
report("async_infer", async_infer)
report("stream_infer", stream_infer)
report("infer_unknown_model", lambda: mlp_answer(client.infer("no-such-model", [mlp_input(1)], headers=headers)))
report("infer_wrong_shape", lambda: mlp_answer(client.infer("mlp-classifier", [grpcclient.InferInput("input", [1, 3], "FP32").set_data_from_numpy(np.zeros((1, 3), np.float32))], headers=headers)))
report("infer_without_key", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)])))
# Switchyard has no sequence batcher: a request naming a sequence is refused, as Triton refuses it for a model without one.
report("infer_sequence", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)], headers=headers, sequence_id=7, sequence_start=True)))
report("infer_sequence_string", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)], headers=headers, sequence_id="abc", sequence_end=True)))
report("infer_sequence_none", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1)], headers=headers, sequence_id=0, sequence_start=False)))
report("infer_client_timeout", lambda: mlp_answer(client.infer("mlp-classifier", [mlp_input(1, rows=64)], headers=headers, client_timeout=0.000001)))
report("get_inference_statistics", statistics)
report("get_model_repository_index", lambda: client.get_model_repository_index(headers=headers, as_json=True))
report("unload_model", lambda: client.unload_model("every-type", headers=headers))
report("is_model_ready_unloaded", lambda: client.is_model_ready("every-type", headers=headers))
report("load_model_with_config", lambda: client.load_model("every-type", headers=headers, config="{}"))
report("load_model", lambda: client.load_model("every-type", headers=headers))
report("is_model_ready_loaded", lambda: client.is_model_ready("every-type", headers=headers))
report("register_system_shared_memory", lambda: client.register_system_shared_memory("region", "/shm-key", 64, headers=headers))
client.close()
