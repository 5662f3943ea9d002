-- A load batch's table, shaped like its parent, not yet attached; the check
-- constraint lets the attach skip its scan.
create table {child} (
    like {parent} including defaults,
    constraint batch check (batch_id = {batch_id})
)
