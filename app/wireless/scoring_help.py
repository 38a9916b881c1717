"""What each scoring setting means, grouped by the factor it belongs to (the settings page).

The groups follow the factors on a network's page, so an analyst who reads "Parked
surveillance +40" there finds the knobs of exactly that line here. tests/test_wireless_rescore.py
checks that every ScoringConfig field has a group and a sentence.
"""

from __future__ import annotations

GROUPS: list[tuple[str, list[tuple[str, str]]]] = [
    ("Levels", [
        ("level_critical", "Score from which a network is CRITICAL."),
        ("level_high", "Score from which a network is HIGH."),
        ("level_medium", "Score from which a network is MEDIUM."),
        ("level_low", "Score from which a network is LOW; below it, NONE."),
    ]),
    ("Data quality", [
        ("max_accuracy_m", "Sightings with a GPS fix worse than this (metres) are ignored."),
        ("max_sightings", "At most this many of a network's newest sightings are scored."),
        ("future_tolerance_hours", "Sightings further than this in the future (a bad clock) are ignored."),
        ("place_radius_m", "Sightings closer than this count as one place."),
    ]),
    ("AirGuard-style minimums", [
        ("min_tracked_minutes", "A network seen over a shorter span than this is capped."),
        ("min_places", "A network seen at fewer distinct places than this is capped."),
        ("minimums_cap", "The cap applied when a minimum is not met."),
    ]),
    ("Follow legs", [
        ("leg_min_distance_m", "Two consecutive sightings at least this far apart make a leg."),
        ("leg_points_each", "Points per leg."),
        ("leg_points_max", "Most points from the number of legs."),
        ("leg_km_per_point", "Kilometres of legs per point of distance."),
        ("leg_distance_points_max", "Most points from the distance covered."),
        ("leg_day_points_each", "Points per day with a leg."),
        ("leg_day_points_max", "Most points from days with legs."),
        ("follow_points_max", "Most points from the whole follow factor."),
        ("max_speed_kmh", "A leg that needs more than this speed is implausible (a reused or spoofed address)."),
        ("radio_range_m", "How far each radio type carries (TYPE=metres; W Wi-Fi, B Bluetooth, E BLE): twice "
                          "this plus the GPS error is allowed before a leg needs any movement."),
    ]),
    ("Parked surveillance", [
        ("parked_radius_m", "Sightings within this of one spot count as parked there."),
        ("parked_min_days", "Days parked at one spot before the factor counts."),
        ("parked_day_points_each", "Points per day parked."),
        ("parked_day_points_max", "Most points from days parked."),
        ("parked_time_bucket_hours", "Hours per time-of-day slot (seen in many slots: watching around the clock)."),
        ("parked_time_points_each", "Points per time-of-day slot."),
        ("parked_time_points_max", "Most points from time-of-day slots."),
        ("parked_far_weight", "Weight of a spot far from home (1.0 at home)."),
        ("parked_home_decay_km", "Kilometres past home over which the weight falls from 1.0 to the far weight."),
        ("parked_fixed_weight", "Weight for a radio that never moved and looks like fixed equipment."),
    ]),
    ("Home correlation", [
        ("home_points", "Points for a radio seen both at home and away from it."),
    ]),
    ("Fleet bonus", [
        ("fleet_points", "Points for sharing a manufacturer or SSID pattern with another HIGH network."),
    ]),
    ("Equipment profile", [
        ("equipment_maker_points", "Points for a vehicle or industrial modem maker."),
        ("equipment_ssid_points", "Points for a car or mobile-hotspot SSID."),
        ("equipment_points_max", "Most points from the equipment profile."),
        ("equipment_makers", "Manufacturers that count (one per line, matched inside the name)."),
        ("equipment_ssid_patterns", "SSID fragments that count (one per line, case-insensitive)."),
    ]),
    ("Temporal persistence", [
        ("persistence_day_points", "Points per day the radio was seen (days only passed while travelling do not count)."),
        ("persistence_points_max", "Most points from persistence."),
        ("passing_gap_minutes", "Sightings further apart than this are separate encounters."),
        ("passing_window_minutes", "An encounter this short that is a single glimpse, or seen while moving..."),
        ("passing_speed_kmh", "...at this speed or more, is passing; a day of only passing encounters is not counted."),
    ]),
    ("Own-device discount", [
        ("strong_rssi_dbm", "A signal this strong or stronger is 'in your pocket'."),
        ("strong_rssi_fraction", "Share of strong sightings that makes a radio your own gadget."),
        ("strong_rssi_min_sightings", "Sightings needed before the discount applies."),
        ("strong_rssi_multiplier", "Your own gadget's score is multiplied by this."),
        ("strong_rssi_types", "Radio types the discount applies to (letters: W Wi-Fi, B Bluetooth, E BLE)."),
    ]),
    ("Agency-office proximity", [
        ("agency_radius_km", "Sightings within this of an agency office count."),
        ("agency_points", "Points for being seen near an agency office."),
    ]),
    ("Same-day following", [
        ("sameday_sensitivity", "AirGuard's sensitivity: a day counts after 30 (HIGH), 60 (MEDIUM) or 90 (LOW) "
                                "minutes with you; higher finds trackers sooner but also fellow travellers. A known tracker "
                                "kind uses AirGuard's values for it at this sensitivity (places 2/3/4, Tile "
                                "3/4/5; tracked 30 min, known this long)."),
        ("sameday_min_locations", "Distinct accurately located places (further apart than the sum of the GPS "
                                  "accuracies and twice the radio range) needed on one day."),
        ("sameday_window_days", "Only days within this many days of now count."),
        ("sameday_day_points", "Points for one qualifying day (45 reaches MEDIUM on its own)."),
        ("sameday_repeat_days", "Qualifying days needed within the repeat window for the higher points..."),
        ("sameday_repeat_window_days", "...within this many days."),
        ("sameday_repeat_points", "Points when it repeats (65 reaches HIGH on its own)."),
    ]),
    ("Frequent places and watchers", [
        ("frequent_stay_radius_m", "You are staying somewhere while your positions stay within this many metres..."),
        ("frequent_stay_minutes", "...for at least this many minutes."),
        ("frequent_place_radius_m", "Stays this close are one place; a radio this close to a place is near it."),
        ("frequent_place_min_days", "A place you stayed at on this many days or more is one of your frequent places."),
        ("watcher_min_places", "A radio near this many of your frequent places, and nowhere else, is a watcher."),
        ("watcher_min_share", "Share of its sightings that must be at your frequent places (0-1)."),
        ("watcher_points", "Points for a watcher at the minimum number of places."),
        ("watcher_extra_place_points", "Points for each further place it waits at."),
        ("watcher_points_max", "Most points from the watcher factor."),
    ]),
    ("Bluetooth trackers by kind", [
        ("tracker_kind_points", "Points for a known tracker maker's tag (Apple, Samsung, Tile, Google) that moved with you."),
    ]),
]

HELP: dict[str, str] = {name: text for _, rows in GROUPS for name, text in rows}
GROUP_OF: dict[str, str] = {name: title for title, rows in GROUPS for name, _ in rows}

# Every factor the scorer can emit, and the heuristics around them (learned places, the
# same-device links, the ML blend): (code, label, what it measures, known false positives).
# Shown on the scoring page and next to each factor on a network's page, and in
# docs/wireless-scoring.md; tests/test_wireless_factor_docs.py fails when a factor has none.
FACTORS: list[tuple[str, str, str, str]] = [
    ("follow_legs", "Follow legs", "Heard again 500 m or more from the last sighting: it moved with you.",
     "Anything travelling the same way at the same time: the bus or train Wi-Fi you ride, a fellow commuter's "
     "phone, your partner's car; a reused or spoofed address seen in two cities (the speed check drops most)."),
    ("parked", "Parked surveillance", "Back at one spot near you on many days, at differing times.",
     "A neighbour's car hotspot parked by your home every night; a delivery van on a daily route; anything "
     "with a vehicle-modem or hotspot profile that lives next door."),
    ("home_correlation", "Home correlation", "Seen at home and away from it.",
     "Your household's own devices that are not always on you (a partner's phone, the family car); a radio "
     "near home heard again by chance on a trip."),
    ("fleet", "Fleet bonus", "Same maker or SSID shape as another HIGH network.",
     "Common makes and default SSIDs (a popular hotspot model) shared by unrelated owners."),
    ("equipment", "Equipment profile", "Vehicle or industrial modem maker, car or mobile-hotspot SSID.",
     "Every ordinary car with built-in Wi-Fi, taxis, buses, shop routers from industrial makers."),
    ("persistence", "Temporal persistence", "Around on many days (days only passed on the road do not count).",
     "Anything at a place you go daily: your office's access points, a neighbour's router."),
    ("agency", "Agency-office proximity", "Seen within 1 km of an agency office.",
     "Offices sit in city centres: every shop and café near one scores it."),
    ("same_day", "Same-day following", "AirGuard's test: with you at 3+ distinct places over 30/60/90 min on one day "
     "(a known tracker kind: AirGuard's places for it, 2/3/4 by sensitivity or Tile 3/4/5, tracked 30+ min).",
     "People who travel with you that day (a colleague on the same trip, a family member, the bus or train Wi-Fi "
     "you ride); your own devices until the own-device discount applies; high-power radios heard from far apart; "
     "at high sensitivity a known tracker kind needs only 2 places, so a tag in a companion's bag on one errand "
     "qualifies."),
    ("watcher", "Watcher at your places", "Near two or more of your frequent places and heard nowhere else.",
     "Someone who shares two of your places (a colleague who uses your gym, a neighbour who works where you do); "
     "a chain's identical SSID at two of its branches."),
    ("tracker_kind", "Bluetooth tracker kind", "A tracker maker's manufacturer id (WiGLE MfgrId, or Kismet's "
     "manufacturer data and service UUIDs) on a tag that moved with you.",
     "Your own or your family's tags (keys, a bag), the tags of people travelling with you, and other products "
     "of the same maker that carry its id (an Apple id is also on phones, watches and earbuds; a Samsung id on "
     "Galaxy phones); in Kismet logs, any product that advertises a tracker maker's service UUID."),
    ("own_device", "Own-device discount", "Constantly very strong: carried by you, counted x0.2.",
     "Wrongly lowers a tracker hidden in your own bag or car (also always strong); tag it THREAT."),
    ("minimums", "AirGuard-style minimums", "Too short or too few places: capped.",
     "Wrongly caps a follower seen briefly; only the same-day, watcher and parked patterns lift the cap."),
    ("clamp", "Clamp at 100", "Factors above 100 stop at 100.", "None of its own: it only caps the sum."),
    ("cellular", "Cellular radio", "Cell towers never score.",
     "A fake base station is missed by the rules; tag it THREAT."),
    ("data_quality", "Data quality", "Sightings set aside (no position, poor accuracy, future clock).",
     "A phone with a wrong clock or poor GPS loses real sightings, which can hide a follower."),
    ("time_unknown", "Time unknown", "Sightings without a clock fix (stamped 1970): counted for places, home and agency offices only.",
     "A follower seen mostly without a clock fix scores low, because no time-based factor can read those sightings."),
    ("no_data", "No data", "Nothing usable to score.", "None of its own: a network without usable sightings."),
    ("tag_overlay", "Tag overlay", "An analyst's tag, applied last.",
     "A wrong tag: FALSE_POSITIVE or LEGIT on a real follower silences it and its alerts until removed."),
    # Heuristics around the factors: not points of their own, but they shape what is shown or counted.
    ("frequent_places", "Frequent places (learned)", "Your places, learned from your own sightings: stays of "
     "20+ min on 3+ days. The watcher factor counts them.",
     "A place that is not really yours becomes one after 3 days (a hotel on a week's trip, a friend's flat), "
     "so its neighbours' radios can look like watchers; poor GPS merges or splits places."),
    ("same_device", "Possibly the same device (links)", "Addresses of one tracker kind that each moved with you, "
     "on different days, never at the same time: linked on the page, never merged.",
     "Several real tags of one kind used on different days (a family's AirTags, two colleagues' SmartTags), "
     "and every Apple device rotating its own address; only a hint, each address keeps its own score."),
    ("ml_blend", "ML blend", "A trained model's probability, blended with the rule score by the organization's "
     "ML weight (off without a model).",
     "Whatever the labelled networks share, right or wrong: a model trained on few or one-sided labels raises "
     "radios that look like past threats (same maker, same places) without following; the factors stay shown."),
]
FALSE_POSITIVES: dict[str, str] = {code: fp for code, _label, _what, fp in FACTORS}
