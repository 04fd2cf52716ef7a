-- marksweep.lua -- one non-moving mark-sweep space for every object.
plan "marksweep" {
  doc = "One mark-sweep space: objects never move; full collections only.",
  arena = { reserve = "16GB" },
  pools = {
    main   = ms { },
    manual = mvff { },
  },
  roles = { objects = "main", leaf = "main", large = "main", manual = "manual",
            weak = { pool = "main", rank = "weak" } },
  barrier = "card",
  -- Full collections are all it has: more room between them buys time
  -- for memory (bench/README.md, "A growable heap that follows growth").
  trigger = { growth = 2.5 },
}
