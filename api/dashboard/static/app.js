/* catalog-tracker dashboard.
 *
 * Reads only the HTTP API and polls it: each view lists the API paths it needs,
 * and when an answer differs from the last one the view is drawn again in place
 * (no page reload). Chinese by default; the button switches to English and the
 * choice is remembered. Routes (location hash):
 *   #/                      overview: open, due soon, overdue; recent violations
 *   #/departments           every department with its figures
 *   #/department/<code>     one department: obligations, reminders sent, violations
 *   #/obligation/<id>       one obligation: explanation (days counted and skipped), history
 *   #/resource/<code>/<rc>  one resource of a department's catalog register: attributes, history, obligations
 *   #/violations            every violation
 *   #/evaluation[/<year>]   yearly evaluation (第二十四条) with an on-time-rate chart
 *
 * When the tracker has a read token (TRACKER_READ_TOKEN), the API answers 401: the page asks
 * for the token once, keeps it in sessionStorage (this tab, this session) and sends it as
 * "Authorization: Bearer" on every fetch. No inline script or style: the page runs under a
 * Content-Security-Policy of its own origin.
 */
(function () {
  "use strict";

  var params = new URLSearchParams(location.search);
  var POLL_MS = Math.max(200, parseInt(params.get("poll") || "3000", 10) || 3000);
  var DUE_SOON_WORKING_DAYS = 3;

  /* Every word the page shows comes from GET /api/wording (models/wording.py, Chinese and English); none is
   * written here. Each table maps a key to [zh, en]. */
  var TEXT = {}, KIND_WORDS = {}, RULE_WORDS = {}, CYCLE_WORDS = {}, SHARE_WORDS = {}, OPEN_WORDS = {},
      CHANNEL_WORDS = {}, ATTRIBUTE_WORDS = {}, ACTIVITY_WORDS = {}, REGISTER_ACTION_WORDS = {}, HISTORY_WORDS = {};
  function loadWording() {
    return api("/api/wording").then(function (w) {
      TEXT = w.labels; KIND_WORDS = w.kinds; RULE_WORDS = w.rules; CYCLE_WORDS = w.cycles;
      SHARE_WORDS = w.share_types; OPEN_WORDS = w.open_types; CHANNEL_WORDS = w.channels;
      ATTRIBUTE_WORDS = w.attributes; ACTIVITY_WORDS = w.activities; REGISTER_ACTION_WORDS = w.register_actions;
      HISTORY_WORDS = w.history;
    });
  }

  var lang = localStorage.getItem("catalog-tracker.lang") === "en" ? "en" : "zh";
  var departmentNames = {};
  var lastAnswer = null;
  var timer = null;
  var generation = 0;
  var askingToken = false;
  var TOKEN_KEY = "catalog-tracker.token";

  function t(key) { var pair = TEXT[key]; return pair ? pair[lang === "en" ? 1 : 0] : key; }
  function pick(pair) { return pair ? pair[lang === "en" ? 1 : 0] : ""; }
  function esc(value) {
    return String(value === undefined || value === null ? "" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function list(answer, key) {
    if (Array.isArray(answer)) return answer;
    if (!answer) return [];
    return answer[key] || answer.items || answer.results || [];
  }
  function storedToken() {
    try { return sessionStorage.getItem(TOKEN_KEY) || ""; } catch (e) { return ""; }
  }
  /* A 401: the API needs a (different) token. */
  function TokenNeeded(sent) { this.sent = sent; this.message = "HTTP 401"; }
  function api(path) {
    var headers = { Accept: "application/json" }, token = storedToken();
    if (token) headers.Authorization = "Bearer " + token;
    return fetch(path, { headers: headers, cache: "no-store" }).then(function (r) {
      if (r.status === 401) throw new TokenNeeded(Boolean(token));
      if (r.status === 404) return null;
      if (!r.ok) throw new Error(path + ": HTTP " + r.status);
      return r.json();
    });
  }
  function fetchAll(paths) {
    return Promise.all(paths.map(api));
  }

  /* ---------------------------------------------------------------- formatting */

  function deptName(code, fallback) {
    if (!code) return "-";
    return fallback || departmentNames[code] || code;
  }
  function deptLink(code, name) {
    return '<a href="#/department/' + encodeURIComponent(code) + '">' + esc(deptName(code, name)) + "</a>";
  }
  function kindText(kind) { return KIND_WORDS[kind] ? pick(KIND_WORDS[kind]) : (kind || "-"); }
  function historyWord(word) { return HISTORY_WORDS[word] ? pick(HISTORY_WORDS[word]) : word; }
  function ruleText(rule) { return RULE_WORDS[rule] ? pick(RULE_WORDS[rule]) : (rule || "-"); }
  function time(value) {
    if (!value) return "-";
    return String(value).replace("T", " ").replace(/(:\d\d)(\.\d+)?\+08:00$/, "$1");
  }
  function daysLeft(ob) {
    var v = ob.working_days_left;
    return v === undefined || v === null ? null : Number(v);
  }
  /* What a person should see for an obligation: overdue, due soon, open, on time or late. */
  function state(ob) {
    var status = ob.status;
    if (status === "completed") return ob.on_time === false ? "late" : "completed";
    if (status === "cancelled") return "cancelled";
    var left = daysLeft(ob);
    if (status === "overdue" || (left !== null && left < 0)) return "overdue";
    if (left !== null && left <= DUE_SOON_WORKING_DAYS) return "soon";
    return "open";
  }
  var STATE_LABEL = { overdue: "overdue", soon: "due_soon", open: "open", completed: "on_time", late: "late",
                      cancelled: "cancelled" };
  function badge(st) {
    var cls = { overdue: "overdue", soon: "soon", open: "open", completed: "completed", late: "late" }[st] || "other";
    return '<span class="badge ' + cls + '">' + esc(t(STATE_LABEL[st] || st)) + "</span>";
  }
  function obligationRows(obligations) {
    if (!obligations.length) return '<p class="muted">' + t("none") + "</p>";
    var rows = obligations.map(function (ob) {
      var st = state(ob), left = daysLeft(ob);
      return '<tr class="' + st + '" data-obligation="' + esc(ob.id) + '">' +
        '<td class="dept">' + deptLink(ob.department, ob.department_name) + "</td>" +
        '<td><a href="#/obligation/' + encodeURIComponent(ob.id) + '">' + esc(kindText(ob.kind)) + "</a>" +
        (ob.trigger_summary ? '<div class="muted">' + esc(ob.trigger_summary) + "</div>" : "") + "</td>" +
        '<td class="nw">' + esc(ob.article || "") + "</td>" +
        '<td class="nw">' + esc(ob.start_day || "") + "</td>" +
        '<td class="nw">' + esc(ob.due_date || "") + (ob.provisional ? ' <span class="muted" title="' + esc(t("provisional")) + '">*</span>' : "") + "</td>" +
        "<td>" + (left === null || ob.status === "completed" ? "-" : esc(left)) + "</td>" +
        "<td>" + badge(st) + "</td></tr>";
    }).join("");
    return "<table><thead><tr><th>" + [t("department"), t("obligation"), t("article"), t("start_day"), t("due_date"),
      t("days_left"), t("status")].join("</th><th>") + "</th></tr></thead><tbody>" + rows + "</tbody></table>";
  }
  function violationRows(violations) {
    if (!violations.length) return '<p class="muted">' + t("none") + "</p>";
    var rows = violations.map(function (v) {
      return '<tr><td class="dept">' + deptLink(v.department, v.department_name) + "</td>" +
        '<td class="nw">' + esc(v.article || "") + '</td><td class="nw">' + esc(ruleText(v.rule)) + "</td>" +
        '<td class="nw">' + esc(v.due_date || "-") + '</td><td class="nw">' + esc(time(v.detected_at)) + "</td>" +
        "<td>" + (v.obligation_id ? '<a href="#/obligation/' + encodeURIComponent(v.obligation_id) + '">' : "") +
        '<span title="' + esc(v.explanation || "") + '">' + esc(firstSentence(v.explanation)) + "</span>" +
        (v.obligation_id ? "</a>" : "") + "</td></tr>";
    }).join("");
    return "<table><thead><tr><th>" + [t("department"), t("article"), t("rule"), t("due_date"), t("detected_at"),
      t("explanation")].join("</th><th>") + "</th></tr></thead><tbody>" + rows + "</tbody></table>";
  }
  /* Tables show an explanation's first sentence; the whole text is on the obligation page and in the tooltip. */
  function firstSentence(text) {
    text = String(text || "");
    var end = text.indexOf("。");
    var first = end > 0 && end < text.length - 1 ? text.slice(0, end + 1) : text;
    return first.length > 90 ? first.slice(0, 88) + "…" : first;
  }
  function sortByDue(obligations) {
    var order = { overdue: 0, soon: 1, open: 2, late: 3, completed: 4, cancelled: 5 };
    return obligations.slice().sort(function (a, b) {
      return (order[state(a)] - order[state(b)]) || String(a.due_date).localeCompare(String(b.due_date));
    });
  }
  function card(cls, label, n) {
    return '<div class="card ' + cls + '"><div class="label">' + esc(label) + '</div><div class="n">' + esc(n) + "</div></div>";
  }

  /* ---------------------------------------------------------------- views */

  var views = {
    overview: {
      paths: function () { return ["/api/obligations?status=open&limit=1000", "/api/obligations?status=overdue&limit=1000",
                                   "/api/violations?limit=10"].concat(DELIVERY_OVERVIEW_PATHS); },
      render: function (answers) {
        var open = list(answers[0], "obligations"), overdue = list(answers[1], "obligations");
        var active = sortByDue(open.concat(overdue.filter(function (o) {
          return !open.some(function (p) { return p.id === o.id; });
        })));
        var counts = { overdue: 0, soon: 0, open: 0 };
        active.forEach(function (ob) {
          var s = state(ob);
          if (s === "overdue") counts.overdue += 1;
          else { counts.open += 1; if (s === "soon") counts.soon += 1; }
        });
        var violations = list(answers[2], "violations");
        return "<h1>" + t("overview") + '</h1><div class="cards" id="counts">' +
          card("open", t("open"), counts.open) + card("soon", t("due_soon"), counts.soon) +
          card("overdue", t("overdue"), counts.overdue) +
          card("violations", t("violations"), answers[2] && answers[2].total !== undefined ? answers[2].total : violations.length) +
          "</div><h2>" + t("attention") + "</h2>" + obligationRows(active) +
          "<h2>" + t("recent_violations") + "</h2>" + violationRows(violations) +
          deliveryOverview(answers[3], answers[4]);
      }
    },
    departments: {
      paths: function () { return ["/api/departments", "/api/obligations?limit=1000"]; },
      render: function (answers) {
        var departments = list(answers[0], "departments"), obligations = list(answers[1], "obligations");
        var rows = departments.map(function (d) {
          var mine = obligations.filter(function (o) { return o.department === d.code; });
          var c = { open: 0, soon: 0, overdue: 0, completed: 0, late: 0 };
          mine.forEach(function (o) { var s = state(o); if (c[s] !== undefined) c[s] += 1; });
          return "<tr><td>" + deptLink(d.code, d.name) + '</td><td class="muted">' + esc(d.code) + "</td><td>" +
            esc(lang === "en" ? d.kind : (d.kind_zh || d.kind || "")) + "</td><td>" + c.open + "</td><td>" + c.soon +
            "</td><td>" + c.overdue + "</td><td>" + c.completed + "</td><td>" + c.late + "</td></tr>";
        }).join("");
        return "<h1>" + t("departments") + "</h1><table><thead><tr><th>" + [t("department"), "code", t("kind"), t("open"),
          t("due_soon"), t("overdue"), t("on_time"), t("late")].join("</th><th>") + "</th></tr></thead><tbody>" + rows +
          "</tbody></table>";
      }
    },
    department: {
      paths: function (code) {
        var c = encodeURIComponent(code);
        return ["/api/departments/" + c + "/summary", "/api/obligations?department=" + c + "&limit=1000",
                "/api/violations?department=" + c + "&limit=1000", "/api/departments/" + c + "/catalog",
                "/api/unmatched?department=" + c + "&limit=1000"];
      },
      render: function (answers, code) {
        var summary = answers[0] || {};
        var obligations = sortByDue(list(answers[1], "obligations"));
        var violations = list(answers[2], "violations");
        var name = (summary.department && summary.department.name) || summary.name || deptName(code);
        var c = { open: 0, soon: 0, overdue: 0, completed: 0, late: 0 };
        obligations.forEach(function (o) { var s = state(o); if (c[s] !== undefined) c[s] += 1; });
        var byId = {};
        obligations.forEach(function (o) { byId[o.id] = o; });
        var reminders = list(summary.reminders, "reminders").map(function (r) {
          return { ob: byId[r.obligation_id] || { id: r.obligation_id, due_date: r.due_date }, stage: r.stage,
                   left: r.working_days_left, at: r.sent_at };
        });
        var reminderHtml = reminders.length ? "<table id=\"reminders\"><thead><tr><th>" + [t("time"), t("obligation"), t("due_date"),
          t("days_left")].join("</th><th>") + "</th></tr></thead><tbody>" + reminders.map(function (r) {
            return "<tr><td>" + esc(time(r.at)) + '</td><td><a href="#/obligation/' + encodeURIComponent(r.ob.id) + '">' +
              esc(kindText(r.ob.kind)) + "</a>" + (r.ob.trigger_summary ? '<div class="muted">' + esc(r.ob.trigger_summary) + "</div>" : "") +
              "</td><td>" + esc(r.ob.due_date || "") + "</td><td>" + esc(r.left === undefined ? r.stage : r.left) + "</td></tr>";
          }).join("") + "</tbody></table>" : '<p class="muted">' + t("none") + "</p>";
        return "<h1>" + esc(name) + ' <span class="muted">' + esc(code) + "</span>" + icsLink(code) + '</h1><div class="cards">' +
          card("open", t("open"), c.open) + card("soon", t("due_soon"), c.soon) + card("overdue", t("overdue"), c.overdue) +
          card("done", t("on_time"), c.completed) + card("late", t("late"), c.late) + card("violations", t("violations"), violations.length) +
          "</div><h2>" + t("all_obligations") + "</h2>" + obligationRows(obligations) +
          "<h2>" + t("reminders_sent") + "</h2>" + reminderHtml +
          "<h2>" + t("violations") + "</h2>" + violationRows(violations) +
          catalogSection(answers[3], code) + unmatchedSection(answers[4]);
      }
    },
    resource: {
      paths: function (arg) {
        var parts = splitResource(arg);
        return ["/api/departments/" + encodeURIComponent(parts[0]) + "/resources/" + encodeURIComponent(parts[1])];
      },
      render: function (answers, arg) { return resourceView(answers[0], splitResource(arg)); }
    },
    obligation: {
      paths: function (id) { return ["/api/obligations/" + encodeURIComponent(id)].concat(obligationDeliveryPaths(id)); },
      render: function (answers, id) {
        var ob = answers[0];
        if (!ob) return "<h1>" + t("not_found") + "</h1><p>" + esc(id) + "</p>";
        ob = ob.obligation || ob;
        var ex = ob.explanation || {};
        if (typeof ex === "string") ex = { text_zh: ex };
        var calc = ex.deadline || ex.calendar || ex;
        var counted = calc.counted || [], skipped = calc.skipped || [];
        var text = lang === "en" ? (ex.text_en || calc.text_en) : (ex.text_zh || calc.text_zh);
        var facts = [
          [t("department"), deptLink(ob.department, ob.department_name)],
          [t("obligation"), esc(kindText(ob.kind))], [t("article"), esc(ob.article || "")],
          [t("trigger"), esc(ob.trigger_summary || ob.trigger_event_id || "")],
          [t("start_day"), esc(ob.start_day || "")],
          [t("due_date"), esc(ob.due_date || "") + " (" + esc(ob.working_days || calc.working_days || "") + " " + t("working_days") + ")"],
          [t("due_end"), esc(ob.due_date ? ob.due_date + " 24:00" : time(ob.due_end || calc.end))],
          [t("status"), badge(state(ob))],
          [t("days_left"), daysLeft(ob) === null || ob.status === "completed" ? "-" : esc(daysLeft(ob))],
          [t("completed_at"), esc(time(ob.completed_at))],
          [t("policy"), esc(ob.policy_id ? ob.policy_id + " " + (ob.policy_version || "") : "")]
        ];
        if (ob.provisional) facts.push([t("provisional"), "✔"]);
        var history = list(ob.history, "history");
        var historyHtml = history.length ? "<table><thead><tr><th>" + [t("time"), t("event"), t("explanation")].join("</th><th>") +
          "</th></tr></thead><tbody>" + history.map(function (h) {
            return '<tr><td class="nw">' + esc(time(h.at || h.time || h.recorded_at)) + '</td><td class="nw">' +
              esc(historyWord(h.event || h.type || h.kind || "")) + "</td><td>" +
              esc(h.detail_zh || h.summary || h.description || (h.detail ? JSON.stringify(h.detail) : "")) + "</td></tr>";
          }).join("") + "</tbody></table>" : '<p class="muted">' + t("none") + "</p>";
        var reminders = list(ob.reminders, "reminders");
        var reminderHtml = reminders.length ? "<table><thead><tr><th>" + [t("time"), t("days_left"), t("due_date")].join("</th><th>") +
          "</th></tr></thead><tbody>" + reminders.map(function (r) {
            return "<tr><td>" + esc(time(r.sent_at)) + "</td><td>" + esc(r.working_days_left) + "</td><td>" + esc(r.due_date) + "</td></tr>";
          }).join("") + "</tbody></table>" : '<p class="muted">' + t("none") + "</p>";
        var violations = list(ob.violations, "violations");
        var violationHtml = violations.length ? violations.map(function (v) {
          return '<p><span class="badge overdue">' + esc(v.article) + "</span> " + esc(ruleText(v.rule)) + " · " +
            esc(time(v.detected_at)) + '</p><pre class="explain">' + esc(v.explanation) + "</pre>";
        }).join("") : '<p class="muted">' + t("none") + "</p>";
        var citation = lang === "en" ? calc.citation_en : calc.citation_zh;
        return "<h1>" + esc(kindText(ob.kind)) + " · " + esc(deptName(ob.department, ob.department_name)) + "</h1>" +
          '<dl class="facts">' + facts.map(function (f) { return "<dt>" + f[0] + "</dt><dd>" + f[1] + "</dd>"; }).join("") + "</dl>" +
          "<h2>" + t("deadline_explained") + "</h2>" + (citation ? '<p class="citation">' + esc(citation) + "</p>" : "") +
          '<div class="grid2"><div><h3>' + t("counted") + ' (<span id="counted-count">' + counted.length + '</span>)</h3><div class="days" id="counted">' +
          counted.map(function (d, i) { return '<span class="day counted" title="' + esc(lang === "en" ? d.note_en : d.note_zh) + '">' +
            (i + 1) + ". " + esc(d.date) + "</span>"; }).join("") +
          '</div></div><div><h3>' + t("skipped") + ' (<span id="skipped-count">' + skipped.length + '</span>)</h3><div class="days" id="skipped">' +
          skipped.map(function (d) { return '<span class="day skipped">' + esc(d.date) + " " + esc(lang === "en" ? d.reason_en : d.reason_zh) + "</span>"; }).join("") +
          "</div></div></div>" +
          (text ? '<details class="fulltext"><summary>' + t("full_text") + '</summary><pre class="explain">' + esc(text) + "</pre></details>" : "") +
          "<h2>" + t("reminders_sent") + "</h2>" + reminderHtml +
          "<h2>" + t("violations") + "</h2>" + violationHtml +
          obligationDeliveries(answers[1], answers[2]) +
          "<h2>" + t("history") + "</h2>" + historyHtml;
      }
    },
    violations: {
      paths: function () { return ["/api/violations?limit=1000"]; },
      render: function (answers) { return "<h1>" + t("violations") + "</h1>" + violationRows(list(answers[0], "violations")); }
    },
    evaluation: {
      paths: function (year) { return ["/api/evaluation/" + encodeURIComponent(year)]; },
      render: function (answers, year) {
        var ev = answers[0] || {};
        var rows = list(ev.departments, "departments").filter(function (r) { return num(r.obligations) || num(r.violations); });
        var years = [];
        for (var y = new Date().getFullYear(); y >= 2021; y--) years.push(y);
        var picker = '<select id="year">' + years.map(function (y) {
          return "<option" + (String(y) === String(year) ? " selected" : "") + ">" + y + "</option>";
        }).join("") + "</select>";
        var table = rows.length ? "<table><thead><tr><th>" + [t("department"), t("obligations"), t("on_time"), t("late"),
          t("overdue"), t("open"), t("on_time_rate"), t("violations_by_article")].join("</th><th>") + "</th></tr></thead><tbody>" +
          rows.map(function (r) {
            var rate = rateOf(r);
            var byArticle = r.violations_by_article || {};
            return "<tr><td>" + deptLink(r.department || r.code, r.name || r.department_name) + "</td><td>" + esc(num(r.obligations)) +
              "</td><td>" + esc(num(r.on_time)) + "</td><td>" + esc(num(r.late)) + "</td><td>" + esc(num(r.overdue)) +
              "</td><td>" + esc(num(r.open)) + "</td><td>" + (rate === null ? "-" : (rate * 100).toFixed(1) + "%") + "</td><td>" +
              esc(Object.keys(byArticle).map(function (a) { return a + " × " + byArticle[a]; }).join("；")) + "</td></tr>";
          }).join("") + "</tbody></table>" : '<p class="muted">' + t("no_chart") + "</p>";
        return "<h1>" + t("evaluation") + " " + picker + "</h1>" + xlsxLink(year) + "<h2>" + t("chart_title") + "</h2>" +
          chart(rows) + table;
      }
    }
  };

  /* ---------------------------------------------------------------- the catalog register (issue 12) */

  function words(table, key, fallback) { return table[key] ? pick(table[key]) : (key || fallback || t("not_stated")); }
  function channelText(channel) { return channel ? words(CHANNEL_WORDS, channel) : t("not_stated"); }
  function flag(value) { return value === true ? t("yes") : value === false ? t("no") : t("not_stated"); }
  var RESOURCE_BADGE = { overdue: "overdue", soon: "soon", open: "open", ok: "completed" };
  var RESOURCE_LABEL = { overdue: "overdue", soon: "due_soon", open: "open", ok: "ok" };
  function resourceBadge(st) {
    return '<span class="badge ' + (RESOURCE_BADGE[st] || "other") + '">' + esc(t(RESOURCE_LABEL[st] || st)) + "</span>";
  }
  function resourceLink(department, code, name) {
    return '<a href="#/resource/' + encodeURIComponent(department) + "/" + encodeURIComponent(code) + '">' +
      esc(name || code) + "</a>";
  }
  function splitResource(arg) {
    var at = String(arg || "").indexOf("/");
    return at < 0 ? [arg, ""] : [arg.slice(0, at), arg.slice(at + 1)];
  }
  /* The department's catalog: each resource, its types and channels, its cycle, its data's last and next dates. */
  function catalogSection(answer, code) {
    var resources = list(answer, "resources");
    var head = '<h2 id="catalog-title">' + t("catalog") + "</h2>";
    if (!resources.length) return head + '<p class="muted" id="catalog">' + t("catalog_empty") + "</p>";
    var rows = resources.map(function (r) {
      var due = r.next_due;
      var last = r.last_aggregated_at ? esc(r.last_aggregated_period || "") + " · " + esc(time(r.last_aggregated_at)) : "-";
      var next = due ? esc(due.due_date) + (due.period ? ' <span class="muted">' + esc(due.period) + "</span>" : "") +
        (due.kind === "data-opening" ? ' <span class="muted">' + esc(kindText(due.kind)) + "</span>" : "") : "-";
      return '<tr class="' + esc(r.state) + '" data-resource="' + esc(r.code) + '" data-state="' + esc(r.state) + '">' +
        "<td>" + resourceLink(code, r.code, r.name) + '<div class="muted">' + esc(r.code) + "</div></td>" +
        '<td class="nw">' + esc(words(CYCLE_WORDS, r.update_cycle)) + "</td>" +
        "<td>" + esc(words(SHARE_WORDS, r.share_type)) + '<div class="muted">' + esc(channelText(r.share_channel)) + "</div></td>" +
        "<td>" + esc(words(OPEN_WORDS, r.open_type)) + '<div class="muted">' + esc(channelText(r.open_channel)) + "</div></td>" +
        '<td class="nw">' + last + "</td>" + '<td class="nw">' + next + "</td>" +
        "<td>" + resourceBadge(r.state) + "</td></tr>";
    }).join("");
    return head + '<table id="catalog"><thead><tr><th>' + [t("resource"), t("cycle"), t("share"), t("open_list"),
      t("last_aggregated"), t("next_due"), t("state")].join("</th><th>") + "</th></tr></thead><tbody>" + rows + "</tbody></table>";
  }
  /* Activities whose resource is in no register after the policy's wait. */
  function unmatchedSection(answer) {
    var items = list(answer, "unmatched");
    if (!items.length) return "";
    return "<h2>" + t("unmatched") + '</h2><table id="unmatched"><thead><tr><th>' + [t("time"), t("resource_code"),
      t("activity"), t("held_since"), t("explanation")].join("</th><th>") + "</th></tr></thead><tbody>" +
      items.map(function (u) {
        return '<tr class="overdue"><td class="nw">' + esc(time(u.event_time)) + "</td><td>" + esc(u.resource_code) + "</td><td>" +
          esc(words(ACTIVITY_WORDS, u.type)) + '</td><td class="nw">' + esc(time(u.held_at)) + "</td><td>" + esc(u.reason) + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
  function resourceView(r, parts) {
    if (!r) return "<h1>" + t("not_found") + "</h1><p>" + esc(parts.join(" / ")) + "</p>";
    var attributes = r.attributes || {};
    var facts = [[t("department"), deptLink(r.department, r.department_name)], [t("resource_code"), esc(r.code)],
                 [t("state"), r.status === "removed" ? '<span class="badge other">' + t("removed") + "</span>" : resourceBadge(r.state)]];
    Object.keys(ATTRIBUTE_WORDS).forEach(function (name) {
      var value = attributes[name];
      var text = name === "update_cycle" ? words(CYCLE_WORDS, value) : name === "share_type" ? words(SHARE_WORDS, value) :
        name === "open_type" ? words(OPEN_WORDS, value) : /_channel$/.test(name) ? channelText(value) :
        typeof value === "boolean" || value === null || value === undefined ? (typeof value === "boolean" ? flag(value) : t("not_stated")) : value;
      facts.push([pick(ATTRIBUTE_WORDS[name]), esc(text)]);
    });
    facts.push([t("revision"), esc(r.revision === undefined ? "-" : r.revision)], [t("catalog_version"), esc(r.catalog_version || "-")],
               [t("last_aggregated"), r.last_aggregated_at ? esc(r.last_aggregated_period) + " · " + esc(time(r.last_aggregated_at)) : "-"],
               [t("next_due"), r.next_due ? esc(r.next_due.due_date) + " " + esc(r.next_due.period || "") : "-"]);
    var history = list(r.history, "history");
    var historyHtml = history.length ? '<table id="register-history"><thead><tr><th>' + [t("time"), t("event"),
      t("explanation")].join("</th><th>") + "</th></tr></thead><tbody>" + history.map(function (h) {
        return '<tr><td class="nw">' + esc(time(h.at)) + '</td><td class="nw">' + esc(words(REGISTER_ACTION_WORDS, h.action)) +
          '<div class="muted">' + esc(h.event_id) + "</div></td><td>" + esc(h.detail_zh) + "</td></tr>";
      }).join("") + "</tbody></table>" : '<p class="muted">' + t("none") + "</p>";
    return "<h1>" + esc(attributes.name || r.code) + " · " + esc(deptName(r.department, r.department_name)) + "</h1>" +
      '<dl class="facts">' + facts.map(function (f) { return "<dt>" + f[0] + "</dt><dd>" + f[1] + "</dd>"; }).join("") + "</dl>" +
      "<h2>" + t("register_history") + "</h2>" + historyHtml +
      "<h2>" + t("obligations") + "</h2>" + obligationRows(sortByDue(list(r.obligations, "obligations"))) +
      "<h2>" + t("violations") + "</h2>" + violationRows(list(r.violations, "violations")) +
      (list(r.held, "held").length ? unmatchedSection({ unmatched: r.held }) : "");
  }

  /* ---------------------------------------------------------------- delivery (issue 14)
   * Labels come from GET /api/delivery (models/wording.py), so no sentence is written here. */

  var DELIVERY_OVERVIEW_PATHS = ["/api/delivery", "/api/deliveries?status=failed&limit=50"];
  var deliveryWording = null;
  function dw(table, key) {
    var pair = deliveryWording && deliveryWording[table] && deliveryWording[table][key];
    return pair ? pick(pair) : key;
  }
  function obligationDeliveryPaths(id) {
    return ["/api/delivery", "/api/deliveries?obligation_id=" + encodeURIComponent(id) + "&limit=500"];
  }
  function icsLink(code) {
    var href = "/api/departments/" + encodeURIComponent(code) + "/deadlines.ics", token = storedToken();
    if (token) href += "?token=" + encodeURIComponent(token);  /* calendar apps subscribe by URL: no header */
    return ' <a class="ics" id="ics-link" href="' + esc(href) + '">' + esc(dw("labels", "ics") === "ics" ? "iCal" : dw("labels", "ics")) + "</a>";
  }
  function deliveryTable(items, id) {
    if (!items.length) return '<p class="muted">' + esc(dw("labels", "none")) + "</p>";
    var head = ["updated_at", "notification", "channel", "recipient", "level", "status", "attempts", "reason"];
    return '<table id="' + id + '"><thead><tr><th>' + head.map(function (k) { return esc(dw("labels", k)); }).join("</th><th>") +
      "</th></tr></thead><tbody>" + items.map(function (d) {
        return '<tr class="delivery-' + esc(d.status) + '"><td class="nw">' + esc(time(d.updated_at)) + '</td><td class="nw">' +
          (d.obligation_id ? '<a href="#/obligation/' + encodeURIComponent(d.obligation_id) + '">' + esc(d.notification_id) + "</a>" : esc(d.notification_id)) +
          "</td><td>" + esc(dw("channels", d.channel)) + "</td><td>" + esc(d.recipient_label) + "</td><td>" + esc(dw("levels", d.level)) +
          "</td><td>" + esc(dw("statuses", d.status)) + "</td><td>" + esc(d.attempts) + "</td><td>" + esc(d.reason || "") + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
  function deliveryOverview(overview, failed) {
    if (!overview) return "";
    deliveryWording = overview.wording || deliveryWording;
    var channels = (overview.channels || []).map(function (c) { return dw("channels", c); }).join("、");
    var missing = overview.missing_contacts || [];
    var missingHtml = missing.length ? '<table id="missing-contacts"><thead><tr><th>' + esc(dw("labels", "department")) + "</th><th>" +
      esc(dw("labels", "lacks")) + "</th></tr></thead><tbody>" + missing.map(function (m) {
        return "<tr><td>" + (m.department === "-" ? "-" : deptLink(m.department, m.department_name)) + "</td><td>" +
          esc(m.lacks.map(function (r) { return dw("roles", r); }).join("、")) + "</td></tr>";
      }).join("") + "</tbody></table>" : '<p class="muted">' + esc(dw("labels", "none")) + "</p>";
    return '<section id="delivery"><h2>' + esc(dw("labels", "title")) + '</h2><p id="delivery-channels">' +
      esc(dw("labels", "channels")) + "：" + esc(channels || dw("labels", "no_channels")) + "</p>" +
      "<h3>" + esc(dw("labels", "undeliverable")) + "</h3>" + deliveryTable(list(failed, "deliveries"), "undeliverable") +
      "<h3>" + esc(dw("labels", "missing_contacts")) + " (" + missing.length + ")</h3>" + missingHtml + "</section>";
  }
  function obligationDeliveries(overview, answer) {
    if (overview) deliveryWording = overview.wording || deliveryWording;
    if (!answer) return "";
    return "<h2>" + esc(dw("labels", "deliveries")) + "</h2>" + deliveryTable(list(answer, "deliveries"), "deliveries");
  }

  function num(value) { return typeof value === "object" && value !== null ? (value.count || 0) : (value || 0); }
  function rateOf(r) {
    if (r.on_time_rate !== undefined && r.on_time_rate !== null) return Number(r.on_time_rate);
    var due = num(r.on_time) + num(r.late) + num(r.overdue);
    return due ? num(r.on_time) / due : null;
  }

  /* The same evaluation as an Excel workbook (GET /api/evaluation/{year}.xlsx): figures, articles, obligations, chart. */
  function xlsxLink(year) {
    var href = "/api/evaluation/" + encodeURIComponent(year) + ".xlsx";
    return '<p class="downloads"><a id="evaluation-xlsx" href="' + esc(href) + '" download>' +
      esc(t("download_xlsx")) + "</a></p>";
  }

  /* A horizontal bar per department, in plain SVG (no library, no network). */
  function chart(rows) {
    var data = rows.map(function (r) { return { name: deptName(r.department || r.code, r.name || r.department_name), rate: rateOf(r) }; })
      .filter(function (d) { return d.rate !== null && !isNaN(d.rate); });
    if (!data.length) return '<p class="muted">' + t("no_chart") + "</p>";
    data.sort(function (a, b) { return b.rate - a.rate; });
    var bar = 22, gap = 8, left = 190, width = 560, top = 10;
    var height = top + data.length * (bar + gap) + 24;
    var svg = '<svg id="rate-chart" role="img" aria-label="' + esc(t("chart_title")) + '" width="' + (left + width + 70) +
      '" height="' + height + '" xmlns="http://www.w3.org/2000/svg" font-size="12">';
    [0, 0.5, 1].forEach(function (tick) {
      var x = left + tick * width;
      svg += '<line x1="' + x + '" x2="' + x + '" y1="' + top + '" y2="' + (height - 20) + '" stroke="#dde3ea"/>' +
        '<text x="' + x + '" y="' + (height - 6) + '" text-anchor="middle" fill="#6b7785">' + tick * 100 + "%</text>";
    });
    data.forEach(function (d, i) {
      var y = top + i * (bar + gap), w = Math.max(1, d.rate * width);
      var color = d.rate >= 0.9 ? "#1e8449" : d.rate >= 0.6 ? "#d68910" : "#c0392b";
      svg += '<text x="' + (left - 8) + '" y="' + (y + bar * 0.7) + '" text-anchor="end">' + esc(d.name) + "</text>" +
        '<rect class="bar" data-name="' + esc(d.name) + '" data-rate="' + d.rate.toFixed(4) + '" x="' + left + '" y="' + y +
        '" width="' + w.toFixed(1) + '" height="' + bar + '" fill="' + color + '"/>' +
        '<text x="' + (left + w + 6) + '" y="' + (y + bar * 0.7) + '">' + (d.rate * 100).toFixed(1) + "%</text>";
    });
    return '<div class="chart">' + svg + "</svg></div>";
  }

  /* ---------------------------------------------------------------- routing and polling */

  function route() {
    var parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    switch (parts[0]) {
      case "departments": return { view: "departments", nav: "#/departments" };
      case "department": return { view: "department", arg: parts[1], nav: "#/departments" };
      case "obligation": return { view: "obligation", arg: parts.slice(1).join("/"), nav: "#/" };
      case "resource": return { view: "resource", arg: parts.slice(1).join("/"), nav: "#/departments" };
      case "violations": return { view: "violations", nav: "#/violations" };
      case "evaluation": return { view: "evaluation", arg: parts[1] || String(new Date().getFullYear()), nav: "#/evaluation" };
      default: return { view: "overview", nav: "#/" };
    }
  }

  function refresh(force) {
    var current = route(), view = views[current.view], mine = generation;
    var paths = view.paths(current.arg);
    return fetchAll(paths.concat(["/api/health"])).then(function (answers) {
      if (mine !== generation) return;  // the user moved on meanwhile
      var health = answers.pop() || {};
      var signature = JSON.stringify(answers);
      /* The tracker's own "now" (a replay's simulated time), then when the page last asked. */
      var notice = health.missing_notice;  /* next year's holiday notice not loaded (from 1 November) */
      setStatus((health.now ? t("tracker_time") + " " + time(health.now).slice(0, 16) + " · " : "") +
                t("updated") + " " + new Date().toLocaleTimeString(lang === "en" ? "en-GB" : "zh-CN") +
                (notice ? " · " + (lang === "en" ? notice.message_en : notice.message_zh) : ""), false, !!notice);
      if (!force && signature === lastAnswer) return;
      lastAnswer = signature;
      document.getElementById("view").innerHTML = view.render(answers, current.arg);
      document.body.setAttribute("data-view", current.view);
      document.body.setAttribute("data-rendered", String(Date.now()));
      var picker = document.getElementById("year");
      if (picker) picker.onchange = function () { location.hash = "#/evaluation/" + picker.value; };
    }).catch(function (error) {
      if (mine !== generation) return;
      if (error instanceof TokenNeeded) { askToken(error.sent); return; }
      setStatus(t("offline") + ": " + error.message, true);
    });
  }

  /* The read token form: shown in place of the view until a token is accepted. */
  function askToken(wrong) {
    if (wrong) { try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* private mode */ } }
    askingToken = true;
    clearTimeout(timer);
    setStatus(t("token_title"), true);
    document.getElementById("view").innerHTML = '<form id="token-form" class="token-form"><h1>' + esc(t("token_title")) +
      "</h1><p>" + esc(t("token_help")) + "</p>" + (wrong ? '<p class="error" id="token-wrong">' + esc(t("token_wrong")) + "</p>" : "") +
      '<input type="text" name="username" value="catalog-tracker" autocomplete="username" hidden>' +
      '<label for="token">' + esc(t("token_label")) + '</label> <input id="token" name="token" type="password" ' +
      'autocomplete="current-password" required> <button type="submit">' + esc(t("token_submit")) + "</button></form>";
    document.body.setAttribute("data-view", "token");
    var form = document.getElementById("token-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var value = document.getElementById("token").value.trim();
      if (!value) return;
      try { sessionStorage.setItem(TOKEN_KEY, value); } catch (e) { /* private mode: kept for this page only */ }
      start();
    });
    document.getElementById("token").focus();
  }

  function setStatus(text, bad, warn) {
    var el = document.getElementById("status");
    el.textContent = text;
    el.className = "status" + (bad ? " error" : "") + (warn ? " warning" : "");
  }

  function schedule() {
    clearTimeout(timer);
    if (askingToken) return;
    timer = setTimeout(function () { refresh(false).then(schedule, schedule); }, POLL_MS);
  }

  function applyLanguage() {
    document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
    document.title = t("app_title");
    Array.prototype.forEach.call(document.querySelectorAll("[data-i18n]"), function (el) {
      el.textContent = t(el.getAttribute("data-i18n"));
    });
    document.getElementById("lang").textContent = lang === "en" ? "中文" : "English";
  }

  function navigate() {
    generation += 1;
    lastAnswer = null;
    askingToken = false;
    var current = route();
    Array.prototype.forEach.call(document.querySelectorAll("nav a"), function (a) {
      a.classList.toggle("active", a.getAttribute("href") === current.nav);
    });
    refresh(true).then(schedule, schedule);
  }

  document.getElementById("lang").addEventListener("click", function () {
    lang = lang === "en" ? "zh" : "en";
    localStorage.setItem("catalog-tracker.lang", lang);
    applyLanguage();
    navigate();
  });
  window.addEventListener("hashchange", navigate);

  function start() {
    api("/api/departments").then(function (answer) {
      list(answer, "departments").forEach(function (d) { departmentNames[d.code] = d.name; });
    }).catch(function () { /* names fall back to codes; the status line reports the API */ }).then(navigate);
  }

  /* The page's words first (if they cannot be read, keys stand in and the status line reports the API). */
  loadWording().catch(function () { /* shown as keys until the API answers */ }).then(function () {
    applyLanguage();
    start();
  });
})();
