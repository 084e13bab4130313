package functions

// templates are the starting points GET /templates/{type} serves, one per
// trigger type.
var templates = map[string]string{
	TriggerHTTP: `// An HTTP function: POST /api/v1/functions/invoke/<name> (or any method the
// trigger allows). req is a Web Request; ctx.env holds this function's env
// vars; ctx.callBackend(path, init) calls this SelfDB API as the function's
// owner. Return a Response, or any value to send it as JSON.
export const triggers = [{ type: "http", method: ["GET", "POST"] }];

export default async function handler(req: Request, ctx) {
  const url = new URL(req.url);
  const name = url.searchParams.get("name") ?? "world";
  const body = req.method === "POST" ? await req.json().catch(() => null) : null;
  console.log("called by", req.headers.get("X-User-Id") ?? "anon");
  return { message: ` + "`Hello, ${name}!`" + `, received: body };
}
`,
	TriggerSchedule: `// A scheduled function: five-field cron, in UTC. Each scheduled time runs
// once across all SelfDB instances.
export const triggers = [{ type: "schedule", cron: "*/5 * * * *", name: "every-five-minutes" }];

export default async function handler(req: Request, ctx) {
  const { scheduled_at } = await req.json();
  console.log("scheduled run for", scheduled_at);
  return { success: true };
}
`,
	TriggerDatabase: `// A database function: runs for each INSERT, UPDATE or DELETE of a table,
// in commit order, at least once (X-Event-Id is the change's id: use it to
// skip a change seen twice). Throw to get the change again after a back-off.
export const triggers = [{ type: "database", table: "orders", operations: ["INSERT", "UPDATE", "DELETE"] }];

export default async function handler(req: Request, ctx) {
  const change = await req.json(); // {type, operation, table, data, old_data, event_id}
  console.log(change.operation, "on", change.table, "event", req.headers.get("X-Event-Id"));
  if (change.operation === "INSERT") {
    // e.g. await ctx.callBackend("/api/v1/tables/audit/data", { method: "POST", body: { order: change.data.id } });
  }
  return { success: true };
}
`,
	TriggerEvent: `// An event function: runs when POST /api/v1/functions/events/<event> is
// called (by a superuser, or by a function through ctx.callBackend). The
// request body is the event's data.
export const triggers = [{ type: "event", event: "user.signup" }];

export default async function handler(req: Request, ctx) {
  const data = await req.json();
  console.log("event", req.headers.get("X-Event-Name"), data);
  return { success: true };
}
`,
	TriggerOnce: `// A once function: runs after it is saved until it returns {success: true};
// then never again (the completion is stored in Postgres).
export const triggers = [{ type: "once" }];

export default async function handler(req: Request, ctx) {
  const { attempt } = await req.json();
  console.log("setting up, attempt", attempt);
  // e.g. await ctx.callBackend("/api/v1/sql/query", { method: "POST", body: { query: "CREATE TABLE IF NOT EXISTS ..." } });
  return { success: true };
}
`,
}

// Template returns the starting code of a trigger type. Errors: template_not_found.
func Template(typ string) (string, error) {
	t, ok := templates[typ]
	if !ok {
		return "", ErrTemplateNotFound
	}
	return t, nil
}
