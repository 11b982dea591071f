import Foundation

/// The review gallery of an audit: one self-contained static page (`report.html`) with a card per
/// detection, its context chip and each method's map side by side, filters, sorting and paging.
///
/// The page needs no server and nothing from the network (inline style and script, chips by
/// relative path), so it opens from the output folder with `file://`. Every card is in the static
/// HTML, in suspicion order; the script only hides cards (filters, pages), so with scripts off the
/// page still shows them all. Output is deterministic: the same detections give the same bytes.
public enum AuditGallery {
  /// Chip of imagery around detection `id` with its outline, relative to the output folder.
  public static func contextChip(_ id: Int) -> String {
    "chips/d\(id)_context.png"
  }

  /// Chip of `method`'s map over the same window as `contextChip(id)`, relative to the output folder.
  /// Method ids become safe file names: `+` → `p` (`gradcam++` → `gradcampp`), and anything but
  /// letters, digits, `-` and `_` → `_`.
  public static func methodChip(_ id: Int, method: String) -> String {
    "chips/d\(id)_\(safeName(method)).png"
  }

  /// The whole page. `detections` are shown in descending suspicion (ties by id); `methods` gives the
  /// order of the method chips and their evidence; `summary` is shown as a small table in the header;
  /// `areaUnit` labels `Detection.area` (e.g. `m²`, `px`); `pageSize` cards per page when scripts run.
  public static func html(
    detections: [Detection], methods: [String], title: String, summary: [(label: String, value: String)],
    areaUnit: String, pageSize: Int = 200
  ) -> String {
    // Static order = the script's default sort, so the page reads the same with scripts off.
    let sorted = detections.sorted {
      let a = sortKey($0.suspicion), b = sortKey($1.suspicion)
      return a != b ? a > b : $0.id < $1.id
    }
    // Distinct classes in model order, so the select does not depend on set order.
    var seen = Set<String>()
    let classes = detections.sorted { ($0.classIndex, $0.className) < ($1.classIndex, $1.className) }
      .map(\.className).filter { seen.insert($0).inserted }
    // Wide enough for the context chip and every method chip in one row.
    let cardWidth = max(360, (methods.count + 1) * 168 + 18)

    var out = """
      <!DOCTYPE html>
      <html lang="en">
      <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>\(escape(title))</title>
      <style>\(css)</style>
      </head>
      <body>
      <header class="top">
      <div><h1>\(escape(title))</h1>
      <p class="note">Review verdicts are entered in <code>detections.gpkg</code> (field <code>review</code>: tp, fp, \
      wrong_class or unsure; note in <code>review_note</code>) in QGIS, and shown here after re-running the audit.</p>
      <p class="note keys">Keys: <kbd>j</kbd>/<kbd>k</kbd> or <kbd>→</kbd>/<kbd>←</kbd> next/previous card, \
      <kbd>n</kbd>/<kbd>p</kbd> next/previous page, <kbd>/</kbd> filter.</p></div>
      <table class="summary"><tbody>

      """
    for row in summary {
      out += "<tr><th>\(escape(row.label))</th><td>\(escape(row.value))</td></tr>\n"
    }
    out += """
      </tbody></table>
      </header>
      <nav class="controls">
      <label>class <select id="f-class"><option value="">all</option>\(options(classes.map { ($0, $0) }))</select></label>
      <label>status <select id="f-status"><option value="">all</option>\
      \(options(Detection.Status.allCases.map { ($0.rawValue, $0.rawValue) } + [("unlabelled", "unlabelled")]))</select></label>
      <label>review <select id="f-review"><option value="">all</option><option value="none">not reviewed</option>\
      <option value="reviewed">reviewed</option>\(options(Detection.Review.allCases.map { ($0.rawValue, $0.rawValue) }))</select></label>
      <label>min suspicion <input id="f-min" type="number" min="0" max="1" step="0.05" placeholder="0"></label>
      <label>sort <select id="f-sort"><option value="suspicion">suspicion ↓</option><option value="prob">prob_mean ↓</option>\
      <option value="area">area ↓</option><option value="id">id ↑</option></select></label>
      <span class="pager"><button id="pg-prev" type="button">‹ prev</button> <span id="pg-info"></span> \
      <button id="pg-next" type="button">next ›</button></span>
      <span id="count"></span>
      </nav>
      <p id="empty" class="empty"\(sorted.isEmpty ? "" : " hidden")>No detections match.</p>
      <main id="cards" data-page-size="\(max(1, pageSize))" style="--cardw:\(cardWidth)px">

      """
    for d in sorted {
      out += card(d, methods: methods, areaUnit: areaUnit)
    }
    out += "</main>\n<script>\(script)</script>\n</body>\n</html>\n"
    return out
  }

  /// Escapes text for HTML element content and quoted attribute values.
  public static func escape(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count)
    for c in text {
      switch c {
      case "&": out += "&amp;"
      case "<": out += "&lt;"
      case ">": out += "&gt;"
      case "\"": out += "&quot;"
      case "'": out += "&#39;"
      default: out.append(c)
      }
    }
    return out
  }

  // MARK: - Card

  private static func card(_ d: Detection, methods: [String], areaUnit: String) -> String {
    let status = d.status?.rawValue ?? "unlabelled"
    let review = d.review?.rawValue ?? "none"
    let cls = escape(d.className)
    var s = """
      <article class="card" id="d\(d.id)" tabindex="-1" data-id="\(d.id)" data-class="\(cls)" \
      data-status="\(status)" data-suspicion="\(dataNumber(d.suspicion))" data-review="\(review)" \
      data-prob="\(dataNumber(d.probMean))" data-area="\(dataNumber(d.area))">
      <h2><a href="#d\(d.id)">#\(d.id)</a> <span class="cls">\(cls)</span> \
      <span class="badge st-\(status)">\(status)</span> <span class="susp">suspicion <b>\(fixed(d.suspicion, 2))</b></span>
      """
    if let c = d.confounder { s += " <span class=\"tag conf\">confounder: \(escape(c))</span>" }
    if d.partial {
      s += " <span class=\"tag partial\" title=\"larger than its window: explained on the part the window holds\">partial</span>"
    }
    s += "</h2>\n<div class=\"body\"><div class=\"chips\">\n"
    s += "<figure><img src=\"\(contextChip(d.id))\" loading=\"lazy\" alt=\"detection \(d.id): imagery with outline\">"
    s += "<figcaption>context</figcaption></figure>\n"
    for m in methods {
      let name = escape(m)
      s += "<figure><img src=\"\(escape(methodChip(d.id, method: m)))\" loading=\"lazy\" "
      s += "alt=\"detection \(d.id): \(name) map\"><figcaption>\(name)<br><span class=\"ev\">"
      if let e = d.evidence[m] {
        s += "in \(percent(e.inside)) · ring \(percent(e.ring))<br>peak inside \(e.peakInside ? "✓" : "✗")"
      } else {
        s += "no evidence"
      }
      s += "</span></figcaption></figure>\n"
    }
    s += "</div>\n<div class=\"side\"><dl class=\"facts\">"
    var facts: [(String, String)] = [
      ("prob mean", fixed(d.probMean, 3)), ("prob max", fixed(d.probMax, 3)),
      ("margin", fixed(d.margin, 3)), ("area", "\(fixed(d.area, 2)) \(escape(areaUnit)) (\(d.pixels) px)"),
    ]
    if d.iou != nil || d.labelId != nil {
      facts.append(("IoU", d.iou.map { fixed($0, 2) } ?? "–"))
      facts.append(("label", d.labelId.map(String.init) ?? "–"))
    }
    facts.append(("centroid", "\(fixed(d.centroidX, 2)), \(fixed(d.centroidY, 2))"))
    if let lon = d.lon, let lat = d.lat {
      facts.append(("lon, lat", "\(fixed(lon, 6)), \(fixed(lat, 6))"))
    }
    if let c = d.confounder { facts.append(("confounder", "<mark>\(escape(c))</mark>")) }
    for (k, v) in facts { s += "<div><dt>\(k)</dt><dd>\(v)</dd></div>" }
    s += "</dl>\n<p class=\"review\">"
    if let r = d.review {
      s += "review <span class=\"badge rv rv-\(r.rawValue)\">\(r.rawValue)</span>"
    } else {
      s += "<span class=\"notrev\">not reviewed</span>"
    }
    if let note = d.reviewNote, !note.isEmpty { s += " <span class=\"rnote\">\(escape(note))</span>" }
    s += "</p></div></div>\n</article>\n"
    return s
  }

  private static func options(_ values: [(value: String, label: String)]) -> String {
    values.map { "<option value=\"\(escape($0.value))\">\(escape($0.label))</option>" }.joined()
  }

  // MARK: - Formatting

  private static func safeName(_ method: String) -> String {
    String(method.map { c -> Character in
      if c == "+" { return "p" }
      return c.isASCII && (c.isLetter || c.isNumber || c == "-" || c == "_") ? c : "_"
    })
  }

  /// Fixed decimals; "–" for NaN / ±inf so they never reach the page, and no "-0.00".
  static func fixed(_ v: Double, _ digits: Int) -> String {
    guard v.isFinite else { return "–" }
    let s = String(format: "%.\(digits)f", v)
    return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
  }

  private static func percent(_ share: Double) -> String {
    // A small object's share of a whole window is often below 1 %: keep one decimal there.
    guard share.isFinite else { return "–" }
    return fixed(share * 100, share < 0.1 ? 1 : 0) + "%"
  }

  /// Number for a data attribute the script sorts and filters on; non-finite sorts last as -1.
  private static func dataNumber(_ v: Double) -> String { v.isFinite ? "\(v)" : "-1" }

  private static func sortKey(_ v: Double) -> Double { v.isFinite ? v : -1 }

  // MARK: - Style and script

  private static let css = """
    :root{--fg:#1d232a;--muted:#5b6672;--line:#d7dce2;--bg:#f3f5f7}
    *{box-sizing:border-box}[hidden]{display:none!important}
    body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
    header.top{display:flex;flex-wrap:wrap;gap:12px 32px;justify-content:space-between;padding:14px 24px;background:#fff;border-bottom:1px solid var(--line)}
    h1{margin:0 0 6px;font-size:20px}.note{margin:4px 0;color:var(--muted);font-size:13px;max-width:70ch}
    .keys{display:none}.js .keys{display:block}
    kbd{border:1px solid var(--line);border-radius:3px;padding:0 4px;background:#f7f8fa;font-size:12px}
    table.summary{border-collapse:collapse;font-size:13px;align-self:flex-start}
    .summary th{text-align:left;font-weight:500;color:var(--muted);padding:1px 14px 1px 0}.summary td{padding:1px 0;font-variant-numeric:tabular-nums}
    .controls{display:none;position:sticky;top:0;z-index:2;flex-wrap:wrap;gap:8px 16px;align-items:center;padding:8px 24px;background:#fff;border-bottom:1px solid var(--line);box-shadow:0 1px 3px #0001}
    .js .controls{display:flex}.controls label{font-size:13px;color:var(--muted)}
    .controls select,.controls input,.controls button{font:inherit;font-size:13px;margin-left:4px}
    .controls input{width:5em}#count{color:var(--muted);font-size:13px}.pager #pg-info{font-size:13px}
    #cards{display:grid;gap:14px;padding:16px 24px;grid-template-columns:repeat(auto-fill,minmax(min(100%,var(--cardw)),1fr))}
    .empty{padding:16px 24px;color:var(--muted)}
    .card{background:#fff;border:1px solid var(--line);border-radius:6px;padding:10px 12px;outline:none;scroll-margin:64px}
    .card.focus,.card:target{box-shadow:0 0 0 3px #2f7de1;border-color:#2f7de1}
    .card h2{display:flex;flex-wrap:wrap;gap:6px 10px;align-items:center;margin:0 0 8px;font-size:15px}
    .card h2 a{color:var(--fg);text-decoration:none}.cls{font-weight:600}.susp{color:var(--muted);font-weight:400;font-size:13px}.susp b{color:var(--fg)}
    .chips{display:flex;flex-wrap:wrap;gap:8px}figure{margin:0;width:160px}
    figure img{display:block;width:160px;height:160px;object-fit:contain;image-rendering:pixelated;background:#e6eaee;border-radius:3px}
    figcaption{margin-top:3px;font-size:12px;text-align:center;line-height:1.3}.ev{color:var(--muted);font-variant-numeric:tabular-nums}
    .badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:#8a939c}
    .st-tp,.rv-tp{background:#2e7d32}.st-fp,.rv-fp{background:#c62828}.st-wrong_class,.rv-wrong_class{background:#d46b08}.rv-unsure{background:#6a4fb3}
    .tag{font-size:12px;font-weight:500;padding:1px 6px;border-radius:3px;border:1px solid var(--line);color:var(--muted)}
    .tag.conf{background:#fff1a8;border-color:#e0c200;color:#5c4a00;font-weight:600}mark{background:#fff1a8;padding:0 3px}
    .body{display:flex;flex-wrap:wrap;gap:10px 24px}.side{flex:1 1 300px;min-width:0}
    dl.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(250px,1fr));gap:2px 16px;margin:0 0 6px;font-size:13px}
    .facts div{display:flex;gap:8px}dt{flex:0 0 6.5em;color:var(--muted)}dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
    .review{margin:6px 0 0;padding-top:6px;border-top:1px solid var(--line);font-size:13px}.notrev{color:var(--muted);font-style:italic}
    .rnote{white-space:pre-wrap}
    """

  // Sorting reorders the cards in the grid; filters and paging only set `hidden`.
  private static let script = """
    (function(){
    document.documentElement.classList.add('js');
    var $=function(i){return document.getElementById(i)};
    var grid=$('cards'),cards=Array.prototype.slice.call(grid.querySelectorAll('article.card'));
    var size=Math.max(1,parseInt(grid.dataset.pageSize,10)||200);
    var f={cls:$('f-class'),st:$('f-status'),rv:$('f-review'),min:$('f-min'),sort:$('f-sort')};
    var shown=[],page=0,pages=1,cur=-1;
    function num(s){var v=parseFloat(s);return isFinite(v)?v:-1}
    var keys={suspicion:function(c){return -num(c.dataset.suspicion)},prob:function(c){return -num(c.dataset.prob)},
      area:function(c){return -num(c.dataset.area)},id:function(c){return num(c.dataset.id)}};
    function match(c){var d=c.dataset,r=f.rv.value,m=parseFloat(f.min.value);
      if(f.cls.value&&d.class!==f.cls.value)return false;
      if(f.st.value&&d.status!==f.st.value)return false;
      if(r==='reviewed'?d.review==='none':(r&&d.review!==r))return false;
      return !(isFinite(m)&&num(d.suspicion)<m)}
    function apply(){var k=keys[f.sort.value]||keys.suspicion;
      var s=cards.slice().sort(function(a,b){return k(a)-k(b)||num(a.dataset.id)-num(b.dataset.id)});
      s.forEach(function(c){grid.appendChild(c)});
      shown=s.filter(match);pages=Math.max(1,Math.ceil(shown.length/size));page=0;render()}
    function render(){page=Math.min(Math.max(page,0),pages-1);cur=-1;
      var on=new Set(shown.slice(page*size,page*size+size));
      cards.forEach(function(c){c.hidden=!on.has(c);c.classList.remove('focus')});
      $('pg-info').textContent='page '+(page+1)+' of '+pages;
      $('count').textContent=shown.length+' of '+cards.length+' detections match';
      $('pg-prev').disabled=page===0;$('pg-next').disabled=page>=pages-1;$('empty').hidden=shown.length>0}
    function onPage(){return Math.max(0,Math.min(size,shown.length-page*size))}
    function go(p){if(p<0||p>=pages)return;page=p;render();window.scrollTo(0,0)}
    function focusAt(i){if(!onPage())return;
      if(i>=onPage()){if(page>=pages-1)return;page++;render();i=0}
      if(i<0){if(page===0)return;page--;render();i=onPage()-1}
      cards.forEach(function(c){c.classList.remove('focus')});cur=i;
      var c=shown[page*size+i];c.classList.add('focus');c.focus({preventScroll:true});c.scrollIntoView({block:'nearest'})}
    [f.cls,f.st,f.rv,f.sort].forEach(function(e){e.addEventListener('change',apply)});
    f.min.addEventListener('input',apply);
    $('pg-prev').addEventListener('click',function(){go(page-1)});
    $('pg-next').addEventListener('click',function(){go(page+1)});
    grid.addEventListener('click',function(e){var c=e.target.closest('article.card');
      if(c){var i=shown.indexOf(c)-page*size;if(i>=0&&i<onPage())focusAt(i)}});
    document.addEventListener('keydown',function(e){
      if(e.ctrlKey||e.metaKey||e.altKey)return;
      var t=e.target.tagName;
      if(t==='INPUT'||t==='SELECT'||t==='TEXTAREA'){if(e.key==='Escape')e.target.blur();return}
      switch(e.key){
      case 'j':case 'ArrowRight':focusAt(cur+1);break;
      case 'k':case 'ArrowLeft':focusAt(cur<0?0:cur-1);break;
      case 'n':go(page+1);break;case 'p':go(page-1);break;
      case '/':f.cls.focus();break;default:return}
      e.preventDefault()});
    apply();
    // A link to #d<id> opens the page that holds the card.
    var h=location.hash&&document.getElementById(location.hash.slice(1));
    var at=h?shown.indexOf(h):-1;
    if(at>=0){page=Math.floor(at/size);render();h.scrollIntoView()}
    })();
    """
}
