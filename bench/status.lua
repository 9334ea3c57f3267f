-- GET /api/jobs/<id> with ids drawn uniformly from [JOB_MIN, JOB_MAX] (the 1,000 seeded jobs).
-- Same generator and seeds as the reference's status.lua; only the path differs (chatter's canonical
-- path; the reference's /api/jobs/<id>/status is an alias here and answers the same).
local lo = tonumber(os.getenv("JOB_MIN") or "1")
local hi = tonumber(os.getenv("JOB_MAX") or "1000")
local n = 0

function setup(thread)
  n = n + 1
  thread:set("tid", n)
end

function init(args)
  math.randomseed(1000 + (tid or 0))
end

function request()
  return wrk.format("GET", "/api/jobs/" .. math.random(lo, hi))
end
