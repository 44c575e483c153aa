/// Reference (c): the `items` collection of the benchmark, for PocketBase.
///
/// The same fields as bench/bastion.yaml, in PocketBase's types (a decimal
/// price becomes a number: PocketBase has no exact decimal type). Every API
/// rule is "" (anyone), as Bastion serves the bench blueprint without auth.
/// The same indexes as Bastion's table: unique sku, and (status, price, id)
/// for the filtered and sorted list.
///
/// Request logging is switched off (logs.maxDays = 0): PocketBase writes every
/// request to its logs database by default, and every Python server in the
/// run has its access log off too.
migrate(
  (app) => {
    const items = new Collection({
      type: "base",
      name: "items",
      listRule: "",
      viewRule: "",
      createRule: "",
      updateRule: "",
      deleteRule: "",
      fields: [
        { name: "sku", type: "text", required: true, max: 32 },
        { name: "name", type: "text", required: true, max: 200 },
        { name: "description", type: "text", max: 2000 },
        { name: "status", type: "select", maxSelect: 1, values: ["draft", "active", "archived"] },
        // "required" on a PocketBase number means non-zero; prices are never 0 in the data set.
        { name: "price", type: "number", required: true, min: 0 },
        { name: "quantity", type: "number", onlyInt: true, min: 0 },
        { name: "featured", type: "bool" },
        { name: "released_at", type: "date" },
        { name: "created", type: "autodate", onCreate: true, onUpdate: false },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
      indexes: [
        "CREATE UNIQUE INDEX idx_items_sku ON items (sku)",
        "CREATE INDEX idx_items_status_price ON items (status, price, id)",
      ],
    });
    app.save(items);

    const settings = app.settings();
    settings.logs.maxDays = 0;
    settings.rateLimits.enabled = false;
    app.save(settings);
  },
  (app) => {
    app.delete(app.findCollectionByNameOrId("items"));
  },
);
