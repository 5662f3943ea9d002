-- Good records of the checked batch whose event type is not in the catalogue.
select count(*) from enrich_checked
where reason is null and not is_known_event_type
