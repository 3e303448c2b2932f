"""Calls a live Switchyard gateway with NVIDIA's tritonclient.http, as a Triton user would.

Usage: tritonclient_http.py URL ROLE [KEY]
  ROLE: open (no tenants), admin, user (a tenant that may call mlp-classifier only), nokey, badkey.
Prints one JSON object: each call's name -> {"ok": true, "value": ...} or {"ok": false, "status": "404", "message": ...}.
The test that runs it (test/integration/tritonclient-http.test.ts) decides what each answer should be.
"""
import base64
import json
import math
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

URL, ROLE = sys.argv[1], sys.argv[2]
KEY = sys.argv[3] if len(sys.argv) > 3 else None


def headers():
    """A fresh dict per call: tritonclient adds Content-Encoding and Inference-Header-Content-Length to the dict it is given."""
    return {"Authorization": f"Bearer {KEY}"} if KEY else None

MODEL = "mlp-classifier"
ADMIN = ROLE in ("open", "admin")

client = httpclient.InferenceServerClient(URL.removeprefix("http://"), concurrency=4, network_timeout=60.0)
results = {}


def record(name, call):
    try:
        results[name] = {"ok": True, "value": call()}
    except InferenceServerException as error:
        results[name] = {"ok": False, "status": error.status(), "message": error.message()}
    except Exception as error:  # a client-side failure is a result too: the test shows it
        results[name] = {"ok": False, "status": None, "message": f"{type(error).__name__}: {error}"}


def vectors(seeds):
    """The same inputs as test/helpers/mlp-reference.ts: sin(seed * 31.7 + i * 0.37)."""
    return np.array([[math.sin(seed * 31.7 + i * 0.37) for i in range(512)] for seed in seeds], dtype=np.float32)


SEEDS = list(range(1, 41))
BATCH = vectors(SEEDS)


def infer(binary_in, binary_out, request_compression=None, response_compression=None, version="", seeds=SEEDS, **options):
    data = vectors(seeds)
    tensor = httpclient.InferInput("input", list(data.shape), "FP32")
    tensor.set_data_from_numpy(data, binary_data=binary_in)
    output = httpclient.InferRequestedOutput("probabilities", binary_data=binary_out)
    result = client.infer(MODEL, [tensor], model_version=version, outputs=[output], request_id="interop-1", headers=headers(),
                          request_compression_algorithm=request_compression, response_compression_algorithm=response_compression, **options)
    response = result.get_response()
    return {"id": response.get("id"), "model_version": response.get("model_version"), "seeds": seeds,
            "outputs": result.as_numpy("probabilities").tolist()}


def echo(binary):
    """BYTES and INT64 through the identity model `echo`: spaces, commas and UTF-8 survive both encodings."""
    words = np.array([["a b,c".encode(), "é".encode()]], dtype=np.object_)
    numbers = np.array([[-(2**40), 0, 2**40]], dtype=np.int64)
    tensors = [httpclient.InferInput("s", [1, 2], "BYTES"), httpclient.InferInput("n", [1, 3], "INT64")]
    tensors[0].set_data_from_numpy(words, binary_data=binary)
    tensors[1].set_data_from_numpy(numbers, binary_data=binary)
    outputs = [httpclient.InferRequestedOutput("out_s", binary_data=binary), httpclient.InferRequestedOutput("out_n", binary_data=binary)]
    result = client.infer("echo", tensors, outputs=outputs, headers=headers())
    strings = [item if isinstance(item, bytes) else str(item).encode() for item in result.as_numpy("out_s").flatten()]
    return {"s": [item.decode() for item in strings], "n": [int(v) for v in result.as_numpy("out_n").flatten()]}


# One tensor of each datatype through the identity model `typed`, at the edges of each range (INT64 and UINT64
# past 2^53 too: JSON carries them as integer text, which Triton reads and writes exactly).
TYPED = {
    "BOOL": ([True, False, True], np.bool_),
    "UINT8": ([0, 7, 255], np.uint8),
    "INT8": ([-128, 0, 127], np.int8),
    "UINT16": ([0, 1, 65535], np.uint16),
    "INT16": ([-32768, 0, 32767], np.int16),
    "UINT32": ([0, 1, 2**32 - 1], np.uint32),
    "INT32": ([-(2**31), 0, 2**31 - 1], np.int32),
    "UINT64": ([0, 2**53 + 1, 2**64 - 1], np.uint64),
    "INT64": ([-(2**63), 2**53 + 1, 2**63 - 1], np.int64),
    "FP16": ([0.5, -2.0, 1024.0], np.float16),
    "FP32": ([1.5, -0.25, 2.0**100], np.float32),
    "FP64": ([1e-300, -2.5, 1e300], np.float64),
}


def typed(binary):
    tensors, outputs = [], []
    for datatype, (values, dtype) in TYPED.items():
        tensor = httpclient.InferInput(f"t_{datatype.lower()}", [1, 3], datatype)
        tensor.set_data_from_numpy(np.array([values], dtype=dtype), binary_data=binary)
        tensors.append(tensor)
        outputs.append(httpclient.InferRequestedOutput(f"out_t_{datatype.lower()}", binary_data=binary))
    result = client.infer("typed", tensors, outputs=outputs, headers=headers())
    received = {}
    for datatype in TYPED:
        array = result.as_numpy(f"out_t_{datatype.lower()}")
        received[datatype] = {"dtype": str(array.dtype), "values": [exact(v.item()) for v in array.flatten()]}
    return {"sent": {datatype: [exact(v) for v in values] for datatype, (values, _) in TYPED.items()}, "received": received}


def exact(value):
    """Integers past 2^53 as text: the test's JSON.parse would round them (both sides alike)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 else value


def classify(binary_out, class_count, seeds=(3, 4)):
    """The classification extension: InferRequestedOutput(class_count=N), as Triton's image_client asks."""
    data = vectors(list(seeds))
    tensor = httpclient.InferInput("input", list(data.shape), "FP32")
    tensor.set_data_from_numpy(data)
    output = httpclient.InferRequestedOutput("probabilities", binary_data=binary_out, class_count=class_count)
    result = client.infer(MODEL, [tensor], outputs=[output], headers=headers())
    array = result.as_numpy("probabilities")
    rows = [[item.decode() if isinstance(item, bytes) else str(item) for item in row] for row in array]
    # What Triton would write, from the plain tensor: C's %f (Python's % is C's), highest first, ties by index.
    plain = client.infer(MODEL, [tensor], headers=headers()).as_numpy("probabilities")
    expected = [["%f:%d" % (row[i], i) for i in np.argsort(-row, kind="stable")[:class_count]] for row in plain.astype(np.float64)]
    return {"seeds": list(seeds), "dtype": str(array.dtype), "shape": list(array.shape), "rows": rows, "expected": expected,
            "datatype": result.get_output("probabilities")["datatype"]}


def bad_input(name, datatype, shape, data, shm=False):
    tensor = httpclient.InferInput(name, shape, datatype)
    if shm:
        tensor.set_shared_memory("region-0", 2048)
    else:
        tensor.set_data_from_numpy(data)
    return client.infer(MODEL, [tensor], headers=headers()).get_response()


def async_batch():
    handles = [client.async_infer(MODEL, [single(seed)], headers=headers()) for seed in (1, 2, 3, 4, 5, 6)]
    return {"seeds": [1, 2, 3, 4, 5, 6], "outputs": [handle.get_result().as_numpy("probabilities")[0].tolist() for handle in handles]}


def single(seed):
    tensor = httpclient.InferInput("input", [1, 512], "FP32")
    tensor.set_data_from_numpy(vectors([seed]))
    return tensor


record("is_server_live", lambda: client.is_server_live(headers=headers()))
record("is_server_ready", lambda: client.is_server_ready(headers=headers()))
record("is_model_ready", lambda: client.is_model_ready(MODEL, headers=headers()))
record("is_model_ready_version", lambda: client.is_model_ready(MODEL, "1", headers=headers()))
record("is_model_ready_unknown", lambda: client.is_model_ready("no-such-model", headers=headers()))
record("get_server_metadata", lambda: client.get_server_metadata(headers=headers()))
record("get_model_metadata", lambda: client.get_model_metadata(MODEL, headers=headers()))
record("get_model_metadata_unknown", lambda: client.get_model_metadata("no-such-model", headers=headers()))
record("get_model_config", lambda: client.get_model_config(MODEL, headers=headers()))


def image_client_view():
    """What Triton's image_client.py reads from the config (parse_model), and the fields Triton-shaped code indexes."""
    config = client.get_model_config(MODEL, headers=headers())
    return {
        "max_batch_size": config["max_batch_size"],
        "input": config["input"],
        "output": config["output"],
        "platform": config["platform"],
        "instance_group_kind": config["instance_group"][0]["kind"],
        "max_queue_delay_microseconds": config["dynamic_batching"]["max_queue_delay_microseconds"],
    }


record("get_model_config_triton_view", image_client_view)

record("infer_json", lambda: infer(False, False))
record("infer_binary", lambda: infer(True, True))
record("infer_binary_in_json_out", lambda: infer(True, False))
record("infer_json_in_binary_out", lambda: infer(False, True))
record("infer_gzip", lambda: infer(True, True, "gzip", "gzip"))
record("infer_deflate", lambda: infer(False, False, "deflate", "deflate"))
record("infer_version", lambda: infer(True, True, version="1", seeds=[7]))
record("infer_options", lambda: infer(True, True, seeds=[8], priority=1, timeout=60_000_000, parameters={"custom": "kept"}))
record("async_infer", async_batch)
record("infer_classification_json", lambda: classify(False, 3))
record("infer_classification_binary", lambda: classify(True, 3))
record("infer_classification_all", lambda: classify(True, 1000, seeds=(5,)))
record("infer_bytes_json", lambda: echo(False))
record("infer_bytes_binary", lambda: echo(True))
record("infer_datatypes_json", lambda: typed(False))
record("infer_datatypes_binary", lambda: typed(True))
record("infer_unknown_model", lambda: client.infer("no-such-model", [single(1)], headers=headers()).get_response())
record("infer_bad_shape", lambda: bad_input("input", "FP32", [1, 3], np.zeros((1, 3), dtype=np.float32)))
record("infer_bad_datatype", lambda: bad_input("input", "FP64", [1, 512], np.zeros((1, 512), dtype=np.float64)))
record("infer_unknown_input", lambda: bad_input("nope", "FP32", [1, 512], np.zeros((1, 512), dtype=np.float32)))
record("infer_shared_memory", lambda: bad_input("input", "FP32", [1, 512], None, shm=True))

record("get_inference_statistics", lambda: client.get_inference_statistics(headers=headers()))
record("get_inference_statistics_model", lambda: client.get_inference_statistics(MODEL, headers=headers()))
record("get_inference_statistics_version", lambda: client.get_inference_statistics(MODEL, "1", headers=headers()))
record("get_model_repository_index", lambda: client.get_model_repository_index(headers=headers()))

record("load_model_config_override", lambda: client.load_model(MODEL, headers=headers(), config=json.dumps({"max_batch_size": 8})))
record("unload_model", lambda: client.unload_model(MODEL, headers=headers()))
record("is_model_ready_after_unload", lambda: client.is_model_ready(MODEL, headers=headers()))
record("infer_after_unload", lambda: infer(True, True, seeds=[1]))
record("load_model", lambda: client.load_model(MODEL, headers=headers()))
record("is_model_ready_after_load", lambda: client.is_model_ready(MODEL, headers=headers()))
record("load_model_unknown", lambda: client.load_model("no-such-model", headers=headers()))

record("get_system_shared_memory_status", lambda: client.get_system_shared_memory_status(headers=headers()))
record("get_system_shared_memory_status_region", lambda: client.get_system_shared_memory_status("region-0", headers=headers()))
record("register_system_shared_memory", lambda: client.register_system_shared_memory("region-0", "/switchyard-interop", 1024, headers=headers()))
record("unregister_system_shared_memory", lambda: client.unregister_system_shared_memory(headers=headers()))
record("unregister_system_shared_memory_region", lambda: client.unregister_system_shared_memory("region-0", headers=headers()))
record("get_cuda_shared_memory_status", lambda: client.get_cuda_shared_memory_status(headers=headers()))
record("register_cuda_shared_memory", lambda: client.register_cuda_shared_memory("region-1", base64.b64encode(b"handle").decode(), 0, 1024, headers=headers()))
record("unregister_cuda_shared_memory", lambda: client.unregister_cuda_shared_memory(headers=headers()))

record("get_trace_settings", lambda: client.get_trace_settings(headers=headers()))
record("get_trace_settings_model", lambda: client.get_trace_settings(MODEL, headers=headers()))
record("update_trace_settings", lambda: client.update_trace_settings(settings={"trace_level": ["TIMESTAMPS"]}, headers=headers()))
record("get_log_settings", lambda: client.get_log_settings(headers=headers()))
record("update_log_settings", lambda: client.update_log_settings({"log_verbose_level": 1}, headers=headers()))
record("update_log_settings_back", lambda: client.update_log_settings({"log_verbose_level": 0, "log_info": True}, headers=headers()))
record("update_log_settings_file", lambda: client.update_log_settings({"log_file": "/tmp/triton.log"}, headers=headers()))

client.close()
print(json.dumps(results))
