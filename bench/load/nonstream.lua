-- POST a small /v1/completions request (non-streaming, 16 output tokens)
wrk.method = "POST"
wrk.path = "/v1/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"demo","prompt":"The quick brown fox jumps over the lazy dog","max_tokens":16}'
