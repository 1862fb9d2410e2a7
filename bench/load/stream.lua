-- POST a streaming /v1/completions request: 15 token events + [DONE] = 16 SSE events
wrk.method = "POST"
wrk.path = "/v1/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"model":"demo","prompt":"The quick brown fox jumps over the lazy dog","max_tokens":15,"stream":true}'
