-- sticky.lua -- generational without moving: mark-sweep with sticky mark bits.
plan "sticky" {
  extends = "marksweep",
  doc = "Mark-sweep with a young generation marked in place (sticky mark bits): nothing moves.",
  pools = {
    -- Every young_size bytes, a minor collection marks the young objects
    -- reachable from roots and dirty cards; they become old where they are.
    -- The size trades binary-trees' marking against GCBench's peak RSS
    -- (bench/README.md, "Choosing the plan's young_size").
    main = ms { young_size = "12MB" },
  },
  barrier = "card",                   -- dirty cards over old objects are the remembered set
  -- Minor collections free most garbage, so full collections are rare and
  -- more room between them mostly buys memory, not time.
  trigger = { growth = 1.5 },
}
