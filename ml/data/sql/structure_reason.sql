when doc is null then 'invalid_json'
when doc_type <> 'object' then 'not_an_object'
when coalesce(profile_id, '') = '' then 'missing_identity'
