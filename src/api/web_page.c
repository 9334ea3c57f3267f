/* web_page.c - the single page a person uses: paste links, watch jobs, download CSVs. Plain HTML and
 * JavaScript against the same JSON API (no build step, no external assets). */
#include "api/internal.h"

static const char PAGE[] =
    "<!doctype html><html lang=en><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    "<title>chatter</title><style>"
    "body{font:15px system-ui,sans-serif;max-width:900px;margin:2em auto;padding:0 1em;color:#222}"
    "textarea{width:100%;height:8em;font:13px monospace}table{border-collapse:collapse;width:100%;margin-top:1em}"
    "td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:left;font-size:13px}.err{color:#b00}"
    "button{padding:.4em 1em}.neg{color:#b00}.pos{color:#070}</style></head><body>"
    "<h1>chatter</h1><p>Paste YouTube, TikTok or Instagram post links, one per line.</p>"
    "<textarea id=urls placeholder='https://www.youtube.com/watch?v=...'></textarea><br>"
    "<label>Max comments per post <input id=max type=number value=1000 min=0></label> "
    "<label><input id=replies type=checkbox> include replies</label> "
    "<label>keep <select id=sampling><option value=first>first (API order)</option><option value=top>most liked"
    "</option><option value=newest>newest</option><option value=random>random sample</option></select></label> "
    "<button id=go>Analyse</button><div id=msg class=err></div>"
    "<table><thead><tr><th>Job</th><th>Status</th><th>Posts</th><th>Comments</th><th>neg / neu / pos</th>"
    "<th></th></tr></thead><tbody id=jobs></tbody></table>"
    "<script>"
    "const H={};const tok=localStorage.getItem('chatter_token');if(tok)H.Authorization='Bearer '+tok;"
    "function esc(s){return String(s).replace(/[&<>\"']/g,c=>'&#'+c.charCodeAt(0)+';')}"
    "async function load(){const r=await fetch('/api/jobs?limit=50',{headers:H});if(!r.ok)return;"
    "const d=await r.json();document.getElementById('jobs').innerHTML=d.jobs.map(j=>'<tr><td>'+j.id+'</td><td>'+"
    "esc(j.status)+'</td><td>'+(j.counts.posts_done+j.counts.posts_failed)+'/'+j.counts.posts_total+"
    "(j.counts.posts_failed?' ('+j.counts.posts_failed+' failed)':'')+'</td><td>'+j.counts.comments_classified+"
    "'</td><td><span class=neg>'+j.labels.negative+'</span> / '+j.labels.neutral+' / <span class=pos>'+"
    "j.labels.positive+'</span></td><td><a href=\"'+j.results_url+'?bom=1\">CSV</a></td></tr>').join('')}"
    "document.getElementById('go').onclick=async()=>{const urls=document.getElementById('urls').value.split(/\\n/)"
    ".map(s=>s.trim()).filter(Boolean);const body={urls,max_comments_per_post:+document.getElementById('max').value,"
    "include_replies:document.getElementById('replies').checked,sampling:document.getElementById('sampling').value};const r=await fetch('/api/jobs',{method:'POST',"
    "headers:Object.assign({'Content-Type':'application/json'},H),body:JSON.stringify(body)});const d=await r.json();"
    "const m=document.getElementById('msg');if(!r.ok){m.textContent=d.error.message+(d.error.details?': '+"
    "d.error.details.map(x=>'#'+(x.index+1)+' '+x.reason).join('; '):'');return}m.textContent='';"
    "document.getElementById('urls').value='';load()};load();setInterval(load,3000);"
    "</script></body></html>";

enum MHD_Result route_web_page(api_request *r) {
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(sizeof PAGE - 1, (void *)PAGE, MHD_RESPMEM_PERSISTENT);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'");
    enum MHD_Result ret = MHD_queue_response(r->conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}
