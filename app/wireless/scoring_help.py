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
                                "minutes with you; higher finds trackers sooner but also fellow travellers."),
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
