-- gencopy.lua -- generational: a copying nursery promoting into a copying mature space.
plan "gencopy" {
  doc = "Copying nursery promoting into a copying mature space.",
  arena = { reserve = "16GB" },
  pools = {
    mature = copy { },
    young  = gen  { nursery_size = "4MB", promote_to = "mature" },
    manual = mvff { },
  },
  roles   = { objects = "young", leaf = "young", large = "mature", manual = "manual",
              weak = { pool = "young", rank = "weak" } },
  barrier = "card",                   -- dirty cards in mature are the remembered set
  trigger = { growth = 1.5 },         -- full GC when the heap reaches growth x live
}
