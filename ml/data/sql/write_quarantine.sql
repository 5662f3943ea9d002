-- The checked batch's bad records, each with its reason and raw text.
insert into {raw_quarantine} (
    batch_id, dataset, record_number, reason, detail, raw_text
)
select %(batch_id)s, %(dataset)s, record_number, reason, detail, raw_text
from enrich_checked
where reason is not null
