"""Calls a live Switchyard gateway with NVIDIA's tritonclient (gRPC, and HTTP to compare) on what
the two protocols must answer alike: answers over the gRPC message limit, shared-memory inputs,
log and trace settings, shared-memory status calls and priorities past Triton's levels.

Usage: tritonclient_grpc_parity.py GRPC_ADDRESS HTTP_ADDRESS
Serves the `widen` model (FP32 x [1, n] -> out [1, 4n]). Prints one JSON object per call, as
tritonclient_grpc.py does; the test that runs this script judges the values.
"""
import json
import queue
import sys

import numpy as np
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

grpc = grpcclient.InferenceServerClient(url=sys.argv[1])
http = httpclient.InferenceServerClient(url=sys.argv[2])


def report(name, call):
    try:
        value = call()
        print(json.dumps({"call": name, "ok": True, "value": value}), flush=True)
    except InferenceServerException as error:
        print(json.dumps({"call": name, "ok": False, "status": str(error.status()), "message": error.message()}), flush=True)
    except queue.Empty:
        print(json.dumps({"call": name, "ok": False, "status": "no answer in 30 s", "message": ""}), flush=True)


def widen_input(module, width):
    tensor = module.InferInput("x", [1, width], "FP32")
    tensor.set_data_from_numpy(np.arange(width, dtype=np.float32).reshape(1, width))
    return tensor


def answer(result):
    out = result.as_numpy("out")
    response = result.get_response(as_json=True)
    return {"width": int(out.shape[1]), "id": response.get("id", ""), "priority": response.get("parameters", {}).get("priority")}


def stream_with_big_answers():
    """Small answers around two too large for the limit; one more request after them all."""
    results = queue.Queue()
    grpc.start_stream(callback=lambda result, error: results.put(("error", str(error)) if error else ("answer", answer(result))))
    try:
        for request_id, width in (("s-1", 16), ("b-1", 1024), ("s-2", 32), ("b-2", 1024), ("s-3", 64)):
            grpc.async_stream_infer("widen", [widen_input(grpcclient, width)], request_id=request_id)
        before = [results.get(timeout=30) for _ in range(5)]
        grpc.async_stream_infer("widen", [widen_input(grpcclient, 8)], request_id="after")
        after = results.get(timeout=30)
    finally:
        grpc.stop_stream()
    return {"before": before, "after": after}


report("stream_big_answers", stream_with_big_answers)
report("infer_big_answer", lambda: answer(grpc.infer("widen", [widen_input(grpcclient, 1024)])))


def in_shared_memory(module):
    tensor = module.InferInput("x", [1, 16], "FP32")
    tensor.set_shared_memory("region0", 64)
    return tensor


report("infer_shm_input", lambda: grpc.infer("widen", [in_shared_memory(grpcclient)]))
report("http_infer_shm_input", lambda: http.infer("widen", [in_shared_memory(httpclient)]).get_response())

report("get_log_settings", lambda: grpc.get_log_settings(as_json=True))
report("update_log_file", lambda: grpc.update_log_settings({"log_file": "triton.log"}, as_json=True))
report("update_log_info_empty", lambda: grpc.update_log_settings({"log_info": None}, as_json=True))
# Errors only: the test's own output stays quiet.
report("update_log_settings", lambda: grpc.update_log_settings({"log_error": True, "log_verbose_level": 0}, as_json=True))
report("http_get_log_settings", lambda: http.get_log_settings())
restore = {"log_verbose_level": 0, "log_info": False, "log_warning": False, "log_error": False}
report("restore_log_settings", lambda: grpc.update_log_settings(restore, as_json=True))

report("get_trace_settings", lambda: grpc.get_trace_settings(as_json=True))
report("get_model_trace_settings", lambda: grpc.get_trace_settings(model_name="widen", as_json=True))
report("http_get_trace_settings", lambda: http.get_trace_settings())
report("update_trace_settings", lambda: grpc.update_trace_settings(settings={"trace_rate": "10"}, as_json=True))

report("get_system_shared_memory_status", lambda: grpc.get_system_shared_memory_status(as_json=True))
report("get_system_shared_memory_region", lambda: grpc.get_system_shared_memory_status(region_name="r", as_json=True))
report("get_cuda_shared_memory_status", lambda: grpc.get_cuda_shared_memory_status(as_json=True))
report("unregister_system_shared_memory", lambda: grpc.unregister_system_shared_memory() or True)
report("unregister_cuda_shared_memory", lambda: grpc.unregister_cuda_shared_memory("r") or True)
report("register_system_shared_memory", lambda: grpc.register_system_shared_memory("r", "/switchyard-shm", 64))
report("register_cuda_shared_memory", lambda: grpc.register_cuda_shared_memory("r", b"\0" * 64, 0, 64))

for priority in (5, 2097152, 2097153, 2**64 - 1):
    report(f"infer_priority_{priority}", lambda: answer(grpc.infer("widen", [widen_input(grpcclient, 4)], priority=priority)))
for priority in (2097153, 2**63):
    report(f"http_infer_priority_{priority}", lambda: http.infer("widen", [widen_input(httpclient, 4)], priority=priority).get_response()["parameters"].get("priority"))
