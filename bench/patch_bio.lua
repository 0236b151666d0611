-- wrk script: Open edX's merge-patch of one field (bio), a new value each time so that
-- every request is a real change.
local i = 0
request = function()
  i = i + 1
  local body = string.format('{"bio": "Researcher, revision %d."}', i)
  return wrk.format("PATCH", wrk.path, {["Content-Type"] = "application/merge-patch+json"}, body)
end
