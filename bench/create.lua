-- POST /api/jobs with a fixed two-URL body, like the reference's create.lua. The reference's second URL is a
-- Reddit post, which chatter rejects (no Reddit source), so both links are YouTube videos here.
wrk.method = "POST"
wrk.path = "/api/jobs"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"urls": ["https://www.youtube.com/watch?v=dQw4w9WgXcQ", "https://www.youtube.com/watch?v=9bZkp7q19f0"]}'
