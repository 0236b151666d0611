-- wrk script: GET /v1/users/{id} with a random id in 1..N, so reads spread over the
-- whole table rather than one cached row.
local n = tonumber(os.getenv("N")) or 100000
math.randomseed(42)
request = function()
  return wrk.format("GET", wrk.path .. math.random(1, n))
end
