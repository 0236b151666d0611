-- wrk script: GET {path}user{NNNNNN} with a random account of 1..N, as the seeded
-- usernames are, so reads spread over the whole table.
local n = tonumber(os.getenv("N")) or 100000
math.randomseed(43)
request = function()
  return wrk.format("GET", wrk.path .. string.format("user%06d", math.random(1, n)))
end
