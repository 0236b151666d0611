-- wrk script: Open edX's merge-patch of one field (bio), a new value each time so that
-- every request is a real change. wrk.format uses only the headers it is given, so the
-- command line's (-H: the credential) are copied in.
local i = 0
request = function()
  i = i + 1
  local headers = {}
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/merge-patch+json"
  local body = string.format('{"bio": "Researcher, revision %d."}', i)
  return wrk.format("PATCH", wrk.path, headers, body)
end
-- A failed change would be fast and look good: count the answers that are not 200.
local bad = 0
response = function(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
done = function(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", bad))
end
