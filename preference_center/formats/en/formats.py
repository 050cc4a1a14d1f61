# One date-and-time format for every page: day, month, year, 24-hour time and the zone's name
# (the staff user's own zone, activated by preference_center.middleware.staff_time_zone).
DATETIME_FORMAT = "j M Y, H:i T"
SHORT_DATETIME_FORMAT = "j M Y, H:i T"
